/**
 * The MIME renderer of nefsim plots: draws `application/vnd.nefsim.plot+json`
 * with plotly.js (WebGL traces for large data), follows the theme, fetches
 * finer data when zooming if the service is reachable, and stores a PNG of
 * the plot in the output (`image/png`) so a saved notebook shows the plot in
 * any viewer, without the service.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import type * as PlotlyTypes from 'plotly.js';
import { sharedClient } from '../client/shared.js';
import { liveContexts, recordingContexts, releaseDetached } from './webgl-contexts.js';
import {
  PLOT_MIME,
  bucketsForWidth,
  parsePlotSpec,
  sourceTraceName,
  specToTraces,
  tracesFromFetch,
  type PlotSpec,
  type PlotTrace,
} from './data.js';

type PlotlyModule = typeof PlotlyTypes;
let plotlyPromise: Promise<PlotlyModule> | null = null;

function loadPlotly(): Promise<PlotlyModule> {
  if (!plotlyPromise) {
    plotlyPromise = import('plotly.js-gl2d-dist-min').then((m) => {
      const mod = m as unknown as { default?: PlotlyModule } & PlotlyModule;
      return mod.default ?? mod;
    });
  }
  return plotlyPromise;
}

export interface ThemeColors {
  background: string;
  foreground: string;
  grid: string;
  traces: string[];
}

export function themeColors(): ThemeColors {
  const s = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => s.getPropertyValue(name).trim() || fallback;
  return {
    background: v('--jp-layout-color0', '#ffffff'),
    foreground: v('--jp-ui-font-color1', '#222222'),
    grid: v('--jp-border-color2', '#e0e0e0'),
    traces: ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'],
  };
}

/**
 * The layout: plotly sizes the plot to its container's width (autosize; the
 * renderer's ResizeObserver tells it when that changes) at a fixed height.
 */
function layoutFor(spec: PlotSpec, colors: ThemeColors): Partial<PlotlyTypes.Layout> {
  const axis = { color: colors.foreground, gridcolor: colors.grid, zerolinecolor: colors.grid };
  return {
    title: spec.title ? { text: spec.title, font: { size: 14 } } : undefined,
    paper_bgcolor: colors.background,
    plot_bgcolor: colors.background,
    font: { color: colors.foreground, size: 12 },
    margin: { l: 55, r: 20, t: spec.title ? 40 : 15, b: 45 },
    xaxis: { ...axis, title: { text: spec.xlabel ?? (spec.kind === 'timeseries' || spec.kind === 'raster' ? 'time (s)' : 'x') } },
    yaxis: {
      ...axis,
      title: { text: spec.ylabel ?? (spec.kind === 'raster' ? 'neuron' : spec.kind === 'tuning' ? 'rate (Hz)' : '') },
      ...(spec.kind === 'xy' ? { scaleanchor: 'x' as const } : {}),
    },
    autosize: true,
    height: 320,
    showlegend: spec.traces.length > 1 && spec.traces.length <= 20,
    legend: { font: { color: colors.foreground } },
  };
}

/** The axis ranges the user zoomed or panned to; an axis not here is autoranged. */
interface View {
  x?: [number, number];
  y?: [number, number];
}

/**
 * The range a relayout gives an axis, if any: a drag or scroll zoom sends `xaxis.range[0]` and `xaxis.range[1]`,
 * other interactions (modebar buttons, a programmatic relayout) the whole `xaxis.range` array.
 */
function rangeIn(e: Record<string, unknown>, axis: 'x' | 'y'): [unknown, unknown] | undefined {
  const whole = e[`${axis}axis.range`];
  if (Array.isArray(whole)) return [whole[0], whole[1]];
  if (`${axis}axis.range[0]` in e || `${axis}axis.range[1]` in e) return [e[`${axis}axis.range[0]`], e[`${axis}axis.range[1]`]];
  return undefined;
}

/** The view after a relayout: a zoom or pan sets an axis' range, a double-click (autorange) clears it. */
function viewAfter(view: View, e: Record<string, unknown>): View {
  const next = { ...view };
  for (const axis of ['x', 'y'] as const) {
    if (e[`${axis}axis.autorange`] === true) {
      delete next[axis];
      continue;
    }
    const [r0, r1] = rangeIn(e, axis) ?? [];
    if (typeof r0 === 'number' && typeof r1 === 'number') next[axis] = [r0, r1];
  }
  return next;
}

/**
 * The layout showing `view`: plotly autoranges an axis given no range, so a
 * redraw with a fresh layout (a theme change, a retired plot drawn again,
 * a zoom's finer data) undid the user's zoom. Copies: plotly writes a zoom
 * into the layout's range arrays.
 */
function withView(layout: Partial<PlotlyTypes.Layout>, view: View): Partial<PlotlyTypes.Layout> {
  if (view.x && layout.xaxis) layout.xaxis = { ...layout.xaxis, range: [...view.x], autorange: false };
  if (view.y && layout.yaxis) layout.yaxis = { ...layout.yaxis, range: [...view.y], autorange: false };
  return layout;
}

/** A plot whose zoom fetches finer data from the service: a decimated time series with a source. */
function hasFinerData(spec: PlotSpec): boolean {
  return spec.source !== undefined && spec.decimated === true && spec.kind === 'timeseries';
}

function sameRange(a: [number, number] | null | undefined, b: [number, number] | null | undefined): boolean {
  return a === b || (!!a && !!b && a[0] === b[0] && a[1] === b[1]);
}

/** How long a zoom or pan must rest before the finer data for it is fetched. */
const ZOOM_SETTLE_MS = 150;

/** Counts live plots: browsers cap WebGL contexts, so old plots fall back to their PNG. */
const livePlots = new Set<PlotRenderer>();
const MAX_LIVE_PLOTS = 8;
/** WebGL contexts our live plots may hold (a WebGL plot has two or more; browsers allow about 16 a page). */
const MAX_GL_CONTEXTS = 10;
/**
 * Plots draw one at a time, in the order asked: a plot being drawn cannot be
 * retired (its PNG may not exist yet), so when a cell's twenty outputs all
 * drew at once none could be, the browser dropped the oldest WebGL contexts
 * (blank plots) and no PNG was stored. (Plotly draws on the page's one
 * thread either way.)
 */
let drawTurns: Promise<void> = Promise.resolve();

/**
 * A canvas of a live plot, in the page or not: JupyterLab's windowed
 * notebook ('full' windowing mode) takes the cells scrolled away out of the
 * page without disposing them, and their plots are to be there when
 * scrolled back.
 */
function inLivePlot(canvas: HTMLCanvasElement): boolean {
  for (const p of livePlots) if (p.node.contains(canvas)) return true;
  return false;
}

export class PlotRenderer extends Widget implements IRenderMime.IRenderer {
  private spec: PlotSpec | null = null;
  private model: IRenderMime.IMimeModel | null = null;
  private plotDiv: HTMLDivElement;
  private readonly noteDiv: HTMLDivElement;
  private observer: MutationObserver | null = null;
  private fetchSeq = 0;
  private fullTraces: PlotTrace[] | null = null;
  /**
   * What `spec`'s traces were fetched for: an x range, at a bucket count for the plot's width then (`raw`: the
   * service sent every sample of it, there is nothing finer); null: they are the saved data, which covers every view.
   */
  private fetched: { x: [number, number]; buckets: number; raw: boolean } | null = null;
  /** The user's zoom or pan, which redraws not of the user's making keep (with `spec` holding the data for it). */
  private view: View = {};
  /** The spec last drawn, as JSON: storing the PNG makes JupyterLab render the same output again. */
  private drawnSpec = '';
  /** A draw is under way (such a plot is not retired: its PNG may not exist yet). */
  private drawing = false;
  /** Follows the output's width (the notebook resized, a side panel opened) and has plotly fit the plot to it. */
  private resizeObserver: ResizeObserver | null = null;
  private observedWidth = 0;
  private resizeFrame = 0;

  constructor(_options: IRenderMime.IRendererOptions) {
    super();
    this.addClass('nefsim-Plot');
    this.plotDiv = document.createElement('div');
    this.node.appendChild(this.plotDiv);
    // why a zoom shows the saved (decimated) data rather than finer data from the service
    this.noteDiv = document.createElement('div');
    this.noteDiv.className = 'nefsim-plot-note';
    this.noteDiv.hidden = true;
    this.node.appendChild(this.noteDiv);
    if (typeof ResizeObserver !== 'undefined') {
      this.resizeObserver = new ResizeObserver((entries) => {
        const width = Math.round(entries[entries.length - 1]?.contentRect.width ?? 0);
        if (width <= 0) {
          // hidden (a background tab): whatever is drawn meanwhile gets refitted when shown again
          this.observedWidth = 0;
          return;
        }
        if (width === this.observedWidth) return;
        this.observedWidth = width;
        this.fitWidth();
      });
      this.resizeObserver.observe(this.node);
    }
  }

  /** Has plotly fit a live plot to its container's width, once per animation frame. */
  private fitWidth(): void {
    if (this.resizeFrame) return;
    this.resizeFrame = requestAnimationFrame(() => {
      this.resizeFrame = 0;
      // a plot being drawn takes its width when drawn; a retired one shows its PNG
      if (this.isDisposed || !this.spec || this.drawing || !livePlots.has(this)) return;
      void loadPlotly().then((P) => {
        if (!this.isDisposed && livePlots.has(this)) return P.Plots.resize(this.plotDiv);
      });
      // finer data fetched for a narrower plot looked coarser than a zoom at this width: fetched again once the
      // width settles (a drag-resize calls here every frame; each call supersedes the last, as zooms do)
      const f = this.fetched;
      const x = this.view.x;
      if (f && !f.raw && x && sameRange(f.x, x) && bucketsForWidth(this.node.clientWidth || 640) > f.buckets) {
        void this.fetchFiner(++this.fetchSeq, x, 'wider');
      }
    });
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.model = model;
    const parsed = parsePlotSpec(model.data[PLOT_MIME]);
    if (typeof parsed === 'string') {
      this.plotDiv.textContent = `nefsim plot: ${parsed}`;
      return;
    }
    const json = JSON.stringify(model.data[PLOT_MIME]);
    // the same plot again (only its PNG was added): keep what is drawn, zoom included
    if (json === this.drawnSpec && (livePlots.has(this) || this.drawing)) return;
    this.drawnSpec = json;
    this.spec = parsed;
    this.fullTraces = parsed.traces;
    this.fetched = null;
    this.view = {};
    await this.draw();
    if (!this.observer) {
      // a theme change redraws live plots (a retired one keeps its PNG until clicked)
      this.observer = new MutationObserver(() => {
        if (livePlots.has(this)) void this.draw();
      });
      this.observer.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name'] });
    }
  }

  private async draw(): Promise<void> {
    const spec = this.spec;
    if (!spec) return;
    let Plotly: PlotlyModule;
    try {
      Plotly = await loadPlotly();
    } catch (err) {
      this.showFallback(`plotly.js could not be loaded: ${String(err)}`);
      return;
    }
    const turn = drawTurns.then(() => this.drawInTurn(Plotly, spec));
    drawTurns = turn.catch(() => undefined);
    await turn;
  }

  private async drawInTurn(Plotly: PlotlyModule, spec: PlotSpec): Promise<void> {
    if (this.isDisposed || this.spec !== spec) return; // gone, or a newer spec has its own turn
    // back from retirement (or a first draw): the PNG or placeholder goes before plotly draws
    const fresh = !livePlots.has(this);
    if (fresh) this.plotDiv.textContent = '';
    livePlots.delete(this);
    livePlots.add(this); // most recently drawn last
    if (livePlots.size > MAX_LIVE_PLOTS) {
      for (const p of livePlots) {
        if (p === this || p.drawing) continue;
        p.retire();
        break;
      }
    }
    this.drawing = true;
    const widthBefore = this.observedWidth;
    try {
      await recordingContexts(this.node, () => this.drawNow(Plotly, spec, fresh));
    } finally {
      this.drawing = false;
    }
    // toImage's hidden copy is gone: free its contexts; then keep the page's WebGL contexts under the cap
    this.keepContextsUnderCap();
    // resized while drawing (the observer's call was skipped)
    if (this.observedWidth !== widthBefore) this.fitWidth();
  }

  /** Draws `spec` in the current view; `fresh`: into an empty div (a first draw, or a retired plot's, purged). */
  private async drawNow(Plotly: PlotlyModule, spec: PlotSpec, fresh: boolean): Promise<void> {
    const colors = themeColors();
    const traces = specToTraces(spec, { glThreshold: 5000, colors: colors.traces }) as PlotlyTypes.Data[];
    const config: Partial<PlotlyTypes.Config> = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ['sendDataToCloud'] };
    // plotly keeps the ranges of an empty div's first draw for its 'Reset axes' and double-click: a retired plot
    // clicked back in a zoom went back to that zoom, not to the whole plot. Drawn autoranged first, they go to the
    // whole plot (plotly keeps no ranges for an autoranged axis), and the zoom is shown by the draw that follows
    if (fresh && (this.view.x || this.view.y)) await Plotly.react(this.plotDiv, traces, layoutFor(spec, colors), config);
    await Plotly.react(this.plotDiv, traces, withView(layoutFor(spec, colors), this.view), config);
    const div = this.plotDiv as unknown as PlotlyTypes.PlotlyHTMLElement;
    div.removeAllListeners?.('plotly_relayout');
    div.on('plotly_relayout', (ev: PlotlyTypes.PlotRelayoutEvent) => void this.onRelayout(ev));
    await this.storePng(Plotly);
  }

  /** Stores a PNG of the plot in the output once, so saved notebooks show it anywhere. */
  private async storePng(Plotly: PlotlyModule): Promise<void> {
    const model = this.model;
    if (!model || model.data['image/png'] || !this.spec) return;
    try {
      const url = await Plotly.toImage(this.plotDiv, { format: 'png', width: 720, height: 320 });
      const b64 = url.replace(/^data:image\/png;base64,/, '');
      model.setData({ data: { ...model.data, 'image/png': b64 }, metadata: model.metadata });
    } catch {
      // a PNG is a convenience; the plot itself is drawn
    }
  }

  /** Zoom or pan: fetch finer data for the visible window from the service. */
  private async onRelayout(ev: PlotlyTypes.PlotRelayoutEvent): Promise<void> {
    const e = ev as Record<string, unknown>;
    // every kind of plot: a theme change's redraw shows what the user zoomed to
    this.view = viewAfter(this.view, e);
    const spec = this.spec;
    if (!spec || !hasFinerData(spec)) return;
    // the whole range array too: it updated the view but fetched nothing, so the plot showed the old data in it
    const range = rangeIn(e, 'x');
    // other relayouts (a resize's autosize, a y-only zoom) leave a pending fetch for the x range alone
    if (range === undefined && e['xaxis.autorange'] !== true) return;
    const seq = ++this.fetchSeq;
    if (e['xaxis.autorange'] === true && this.fullTraces) {
      this.spec = { ...spec, traces: this.fullTraces };
      this.fetched = null;
      await this.redrawTraces();
      return;
    }
    const [r0, r1] = range ?? [];
    if (typeof r0 !== 'number' || typeof r1 !== 'number') return;
    // a scroll-zoom or drag sends many ranges: fetch for the last one, once it settles
    await this.fetchFiner(seq, [r0, r1], 'zoom');
  }

  /**
   * Fetches finer data for the x range `x` from the service and draws it: for a zoom (once no newer one came for
   * ZOOM_SETTLE_MS), a plot clicked back from retirement, or a plot made wider (settled as a zoom; without finer
   * data it keeps what it shows).
   */
  private async fetchFiner(seq: number, x: [number, number], why: 'zoom' | 'back' | 'wider'): Promise<void> {
    const spec = this.spec;
    const client = sharedClient();
    if (!spec?.source) return;
    if (why === 'wider' && !client?.isConnected) return;
    if (!client || !client.isConnected) {
      this.showNote('Finer data needs the nefsim service, which is not connected: the plot shows its saved (decimated) data.');
      await this.showSaved();
      return;
    }
    if (why !== 'back' && ((await this.settled(seq)) || this.spec !== spec)) return;
    const src = spec.source;
    const width = this.node.clientWidth || 640;
    try {
      const reply = await client.request<{ mode?: string } | undefined>(
        'probe.fetch',
        {
          ...(src.run ? { run: src.run } : {}),
          ...(src.session ? { session: src.session } : {}),
          ...(src.sim ? { sim: src.sim } : {}),
          probe: src.probe,
          t0: Math.max(0, x[0]),
          t1: Math.max(0, x[1]),
          ...(src.columns ? { columns: src.columns } : {}),
          maxPoints: bucketsForWidth(width),
          mode: 'minmax',
        },
        { timeoutMs: 30_000 },
      );
      // a newer zoom, or the plot went away meanwhile (its cell ran again, or it was retired to its PNG)
      if (seq !== this.fetchSeq || this.isDisposed || !livePlots.has(this)) return;
      const traces = tracesFromFetch(sourceTraceName(src), reply.arrays, bucketsForWidth(width), src.columns?.[0] ?? 0);
      if (traces.length) {
        this.spec = { ...spec, traces };
        this.fetched = { x: [x[0], x[1]], buckets: bucketsForWidth(width), raw: reply.result?.mode === 'raw' };
        await this.redrawTraces();
      }
      this.showNote(undefined);
    } catch (err) {
      // keep the decimated data, and say why there is no finer data (e.g. the simulation is gone with a restart)
      if (seq !== this.fetchSeq || why === 'wider') return;
      const message = err instanceof Error ? err.message : String(err);
      this.showNote(`No finer data for this zoom (${message}): the plot shows its saved (decimated) data.`);
      await this.showSaved();
    }
  }

  /**
   * Back to the saved (decimated) data, in the current view: an earlier zoom's finer data covers its own window
   * alone, so a zoom out or a pan without finer data showed that window's data and nothing around it.
   */
  private async showSaved(): Promise<void> {
    const spec = this.spec;
    if (!spec || !this.fullTraces || spec.traces === this.fullTraces) return;
    this.spec = { ...spec, traces: this.fullTraces };
    this.fetched = null;
    await this.redrawTraces();
  }

  /** A line under the plot, or none. */
  private showNote(text: string | undefined): void {
    this.noteDiv.textContent = text ?? '';
    this.noteDiv.hidden = text === undefined;
  }

  /** Waits ZOOM_SETTLE_MS; true when another zoom or pan came meanwhile (or the plot went away). */
  private settled(seq: number): Promise<boolean> {
    return new Promise((resolve) => setTimeout(() => resolve(seq !== this.fetchSeq || this.isDisposed), ZOOM_SETTLE_MS));
  }

  /** Draws `spec`'s traces in the current view (a zoom's x range alone dropped the y range zoomed with it). */
  private async redrawTraces(): Promise<void> {
    const spec = this.spec;
    if (!spec) return;
    const Plotly = await loadPlotly();
    const colors = themeColors();
    const layout = withView(layoutFor(spec, colors), this.view);
    if (this.isDisposed || !livePlots.has(this)) return;
    // a zoom's finer data can pass the WebGL threshold: its contexts are counted as a first draw's are
    await recordingContexts(this.node, () =>
      Plotly.react(this.plotDiv, specToTraces(spec, { glThreshold: 5000, colors: colors.traces }) as PlotlyTypes.Data[], layout),
    );
    this.keepContextsUnderCap();
  }

  /** Frees the contexts of canvases gone from the page, then retires the least recently drawn plots past the cap. */
  private keepContextsUnderCap(): void {
    releaseDetached(inLivePlot);
    for (const p of livePlots) {
      if (liveContexts(inLivePlot) <= MAX_GL_CONTEXTS) break;
      if (p !== this && !p.drawing) p.retire();
    }
  }

  /** Frees the WebGL context: shows the stored PNG instead, until clicked. */
  retire(): void {
    livePlots.delete(this);
    this.fetchSeq++; // a zoom's fetch under way draws nothing now
    // so its view may have no data fetched for it (the data of the zoom before, of another window): the saved data
    // until clicked back, which fetches again. It showed the new view with the old window's data
    const spec = this.spec;
    const stale = !!spec && hasFinerData(spec) && this.view.x !== undefined && !sameRange(this.fetched?.x, this.view.x);
    if (stale && this.fullTraces) {
      this.spec = { ...spec, traces: this.fullTraces };
      this.fetched = null;
    }
    const png = this.model?.data['image/png'];
    void loadPlotly().then((P) => P.purge(this.plotDiv));
    this.plotDiv.textContent = '';
    releaseDetached(inLivePlot); // its canvases left the page: free their contexts now, not when collected
    let el: HTMLElement;
    if (typeof png === 'string') {
      const img = document.createElement('img');
      img.className = 'nefsim-Plot-fallback';
      img.src = `data:image/png;base64,${png}`;
      el = img;
    } else {
      el = document.createElement('div');
      el.className = 'nefsim-Plot-paused';
      el.textContent = 'Plot paused (browsers allow only so many live plots): click to show it again';
    }
    el.title = 'Click to make the plot interactive again';
    el.addEventListener('click', () => void this.drawBack(stale));
    this.plotDiv.appendChild(el);
  }

  /** Clicked back from retirement: drawn again, and finer data fetched for its view when its zoom's was dropped. */
  private async drawBack(refetch: boolean): Promise<void> {
    const spec = this.spec;
    await this.draw();
    const x = this.view.x;
    // not when its cell ran again meanwhile (a new spec, drawn unzoomed) or it was retired again
    if (!refetch || !x || this.spec !== spec || this.isDisposed || !livePlots.has(this)) return;
    await this.fetchFiner(++this.fetchSeq, x, 'back');
  }

  private showFallback(message: string): void {
    const png = this.model?.data['image/png'];
    this.plotDiv.textContent = '';
    if (typeof png === 'string') {
      const img = document.createElement('img');
      img.className = 'nefsim-Plot-fallback';
      img.src = `data:image/png;base64,${png}`;
      this.plotDiv.appendChild(img);
    } else {
      this.plotDiv.textContent = message;
    }
  }

  dispose(): void {
    if (this.isDisposed) return;
    livePlots.delete(this);
    this.fetchSeq++;
    this.observer?.disconnect();
    this.resizeObserver?.disconnect();
    if (this.resizeFrame) cancelAnimationFrame(this.resizeFrame);
    void loadPlotly().then((P) => P.purge(this.plotDiv));
    super.dispose();
    // its node has left the page (output cleared, cell deleted, notebook closed): free its contexts now. They were
    // freed at another plot's next draw, after that draw made its own: until then the browser counted them (our
    // record of them kept their canvases from being collected), and past its cap it drops a live plot's context
    releaseDetached(inLivePlot);
  }
}

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [PLOT_MIME],
  defaultRank: 0,
  createRenderer: (options) => new PlotRenderer(options),
};
