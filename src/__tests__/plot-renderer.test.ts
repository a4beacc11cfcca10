/**
 * The plot renderer driven in Node: a small fake DOM (elements, canvases with
 * WebGL contexts, the observers the renderer uses) and a fake plotly that
 * records what it is asked to draw. No jsdom in this repository: the fakes
 * hold only what renderer.ts and webgl-contexts.ts touch.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';

class FakeElement {
  children: FakeElement[] = [];
  parent: FakeElement | null = null;
  className = '';
  hidden = false;
  title = '';
  src = '';
  clientWidth = 600;
  private text = '';
  private listeners = new Map<string, (() => void)[]>();
  constructor(readonly tagName: string) {}
  get parentElement(): FakeElement | null {
    return this.parent;
  }
  get isConnected(): boolean {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let n: FakeElement | null = this;
    while (n.parent) n = n.parent;
    return n === body;
  }
  appendChild<T extends FakeElement>(c: T): T {
    c.remove();
    c.parent = this;
    this.children.push(c);
    return c;
  }
  remove(): void {
    if (!this.parent) return;
    this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }
  contains(c: FakeElement | null): boolean {
    for (let n = c; n; n = n.parent) if (n === this) return true;
    return false;
  }
  get textContent(): string {
    return this.text;
  }
  set textContent(v: string) {
    for (const c of [...this.children]) c.remove();
    this.text = v;
  }
  addEventListener(type: string, f: () => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), f]);
  }
  click(): void {
    for (const f of this.listeners.get('click') ?? []) f();
  }
}

/** Every WebGL context made. */
const glMade: FakeGL[] = [];

/** A WebGL context: lost (freed) when loseContext is called. */
class FakeGL {
  lost = false;
  constructor(readonly canvas: FakeCanvas) {
    glMade.push(this);
  }
  getExtension(name: string) {
    return name === 'WEBGL_lose_context' ? { loseContext: () => void (this.lost = true) } : null;
  }
}

class FakeCanvas extends FakeElement {
  constructor() {
    super('canvas');
  }
  getContext(type: string): FakeGL | null {
    return /webgl/.test(type) ? new FakeGL(this) : null;
  }
}

const body = new FakeElement('body');
const themeVars = new Map<string, string>();
const mutationCallbacks = new Set<() => void>();
const resizeCallbacks = new Map<FakeElement, (entries: { contentRect: { width: number } }[]) => void>();

Object.assign(globalThis, {
  document: { body, createElement: (tag: string) => (tag === 'canvas' ? new FakeCanvas() : new FakeElement(tag)) },
  HTMLCanvasElement: FakeCanvas,
  getComputedStyle: () => ({ getPropertyValue: (name: string) => themeVars.get(name) ?? '' }),
  requestAnimationFrame: (f: () => void) => setTimeout(f, 0),
  cancelAnimationFrame: (h: ReturnType<typeof setTimeout>) => clearTimeout(h),
  MutationObserver: class {
    constructor(private f: () => void) {}
    observe() {
      mutationCallbacks.add(this.f);
    }
    disconnect() {
      mutationCallbacks.delete(this.f);
    }
  },
  ResizeObserver: class {
    private el: FakeElement | null = null;
    constructor(private f: (entries: { contentRect: { width: number } }[]) => void) {}
    observe(el: FakeElement) {
      this.el = el;
      resizeCallbacks.set(el, this.f);
    }
    disconnect() {
      if (this.el) resizeCallbacks.delete(this.el);
    }
  },
});

type Layout = {
  xaxis?: { range?: number[]; autorange?: boolean };
  yaxis?: { range?: number[]; autorange?: boolean };
  paper_bgcolor?: string;
};
type Trace = { x: number[]; y: number[] };
type GraphDiv = FakeElement & {
  /** The ranges plotly's 'Reset axes' and double-click go back to (undefined: autorange). */
  initial?: { x?: number[]; y?: number[] };
  layout?: Layout;
  data?: Trace[];
  handlers?: Map<string, (ev: unknown) => void>;
  on?: (ev: string, f: (ev: unknown) => void) => void;
  removeAllListeners?: (ev: string) => void;
};

const fake = vi.hoisted(() => ({
  react: [] as { div: unknown; data: unknown; layout: unknown }[],
  /** While set, a draw waits for it (a slow plot ahead in the queue). */
  hold: null as Promise<void> | null,
  resize: 0,
}));

vi.mock('plotly.js-gl2d-dist-min', () => {
  const plotly = {
    async react(div: GraphDiv, data: Trace[], layout: Layout) {
      fake.react.push({ div, data, layout });
      if (fake.hold) await fake.hold;
      // plotly's gl2d plots draw into a canvas of their own in the plot's div, with a WebGL context
      if (!div.children.some((c) => c.className === 'gl-container')) {
        const box = div.appendChild(new FakeElement('div'));
        box.className = 'gl-container';
        box.appendChild(document.createElement('canvas') as unknown as FakeCanvas).getContext('webgl');
      }
      // as plotly's: the first draw of an empty graph div keeps the ranges it was given for the axes' reset
      if (!div.data)
        div.initial = {
          x: layout.xaxis?.autorange === false ? layout.xaxis.range : undefined,
          y: layout.yaxis?.autorange === false ? layout.yaxis.range : undefined,
        };
      div.layout = layout;
      div.data = data;
      div.handlers ??= new Map();
      div.on = (ev, f) => div.handlers!.set(ev, f);
      div.removeAllListeners = (ev) => div.handlers!.delete(ev);
      return div;
    },
    // as plotly's: removes its own container alone (a retired plot's PNG, put in the div meanwhile, stays)
    purge(div: GraphDiv) {
      div.children.find((c) => c.className === 'gl-container')?.remove();
      div.handlers?.clear();
      delete div.layout;
      delete div.data;
    },
    // as plotly's: draws a hidden copy in the page (its config marked as an export), with contexts of its own, and drops it
    async toImage() {
      const copy = body.appendChild(new FakeElement('div')) as FakeElement & { _context?: { _exportedPlot: boolean } };
      copy._context = { _exportedPlot: true };
      copy
        .appendChild(new FakeElement('div'))
        .appendChild(document.createElement('canvas') as unknown as FakeCanvas)
        .getContext('webgl');
      await Promise.resolve();
      copy.remove();
      return 'data:image/png;base64,UE5H';
    },
    Plots: {
      resize() {
        fake.resize++;
        return Promise.resolve();
      },
    },
  };
  return { default: plotly };
});

const client = vi.hoisted(() => ({
  current: null as null | { isConnected: boolean; request: (type: string, params: Record<string, unknown>) => Promise<unknown> },
}));
vi.mock('../client/shared.js', () => ({ sharedClient: () => client.current }));

vi.mock('@lumino/widgets', () => ({
  Widget: class {
    node = document.createElement('div') as unknown as FakeElement;
    isDisposed = false;
    addClass(c: string) {
      this.node.className = c;
    }
    // as Lumino's: a disposed widget leaves its parent, so its node leaves the page
    dispose() {
      this.isDisposed = true;
      this.node.remove();
    }
  },
}));

import { PlotRenderer } from '../plot/renderer.js';
import { PLOT_MIME } from '../plot/data.js';

const t = Array.from({ length: 500 }, (_, i) => i * 0.01);
/** A decimated time series of a run's probe over [0, 5) s: zooming fetches finer data. */
const spec = {
  version: 1,
  kind: 'timeseries',
  title: 'r1: x',
  traces: [{ name: 'x', x: t, y: [], ymin: t.map(Math.sin), ymax: t.map(Math.cos) }],
  source: { run: 'r1', probe: 'x' },
  decimated: true,
};

function mimeModel(data: unknown): IRenderMime.IMimeModel {
  const m = {
    trusted: true,
    data: { [PLOT_MIME]: data } as Record<string, unknown>,
    metadata: {},
    setData(opts: { data?: Record<string, unknown> }) {
      if (opts.data) m.data = opts.data;
    },
  };
  return m as unknown as IRenderMime.IMimeModel;
}

const made: PlotRenderer[] = [];
async function shown(data: unknown = spec): Promise<{ r: PlotRenderer; div: GraphDiv }> {
  const r = new PlotRenderer({} as IRenderMime.IRendererOptions);
  made.push(r);
  body.appendChild(r.node as unknown as FakeElement);
  await r.renderModel(mimeModel(data));
  const div = (r.node as unknown as FakeElement).children[0] as GraphDiv;
  return { r, div };
}

const lastLayout = (div: GraphDiv) => [...fake.react].reverse().find((c) => c.div === div)!.layout as Layout;
const lastData = (div: GraphDiv) => [...fake.react].reverse().find((c) => c.div === div)!.data as Trace[];
const draws = (div: GraphDiv) => fake.react.filter((c) => c.div === div).length;

function zoom(div: GraphDiv, ev: Record<string, unknown>): void {
  div.handlers!.get('plotly_relayout')!(ev);
}

/** Clicks a retired plot's PNG; resolves when the plot is drawn again (in one draw or more), with its draws so far. */
async function clickBack(div: GraphDiv): Promise<number> {
  await vi.waitFor(() => expect(div.handlers?.has('plotly_relayout')).toBeFalsy()); // purged
  div.children[0]!.click();
  await vi.waitFor(() => expect(div.handlers?.has('plotly_relayout')).toBe(true));
  return draws(div);
}

/** The modebar's 'Reset axes' (a double-click alike), as plotly sends it. */
function resetAxes(div: GraphDiv): void {
  const ev: Record<string, unknown> = {};
  for (const axis of ['x', 'y'] as const) {
    const initial = div.initial?.[axis];
    if (initial) ev[`${axis}axis.range`] = [...initial];
    else ev[`${axis}axis.autorange`] = true;
  }
  zoom(div, ev);
}

function themeChange(vars: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(vars)) themeVars.set(k, v);
  for (const f of mutationCallbacks) f();
}

/** A service answering probe.fetch with 200 raw samples of the window asked. */
function service() {
  const request = vi.fn((type: string, params: Record<string, unknown>) => {
    if (type !== 'probe.fetch') return Promise.reject(new Error(`unexpected ${type}`));
    const t0 = params.t0 as number;
    const t1 = params.t1 as number;
    const ts = Array.from({ length: 200 }, (_, i) => t0 + ((t1 - t0) * i) / 199);
    return Promise.resolve({
      type,
      result: {},
      arrays: [
        { header: { id: 1, name: 't', dtype: 'float64', shape: [200] }, data: Float64Array.from(ts) },
        { header: { id: 2, name: 'y', dtype: 'float64', shape: [200, 1] }, data: Float64Array.from(ts, (v) => v * 10) },
      ],
    });
  });
  client.current = { isConnected: true, request };
  return request;
}

beforeAll(() => {
  themeVars.set('--jp-layout-color0', '#ffffff');
});

afterEach(() => {
  for (const r of made.splice(0)) r.dispose();
  client.current = null;
  fake.hold = null;
});

describe('plot renderer: the zoom survives redraws that are not the user’s', () => {
  it('keeps the x and y ranges, and the finer data fetched for them, when the theme changes', async () => {
    const request = service();
    const { div } = await shown();
    zoom(div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 2, 'yaxis.range[0]': -0.5, 'yaxis.range[1]': 0.5 });
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    expect(request).toHaveBeenCalledOnce();
    // the finer data's redraw keeps the y range the user zoomed to as well (it autoranged y)
    expect(lastLayout(div).xaxis).toMatchObject({ range: [1, 2], autorange: false });
    expect(lastLayout(div).yaxis).toMatchObject({ range: [-0.5, 0.5], autorange: false });
    const fine = lastData(div);
    expect(fine[0]!.x[0]).toBe(1);

    themeChange({ '--jp-layout-color0': '#111111' });
    await vi.waitFor(() => expect(draws(div)).toBe(3));
    expect(lastLayout(div).paper_bgcolor).toBe('#111111');
    expect(lastLayout(div).xaxis).toMatchObject({ range: [1, 2], autorange: false });
    expect(lastLayout(div).yaxis).toMatchObject({ range: [-0.5, 0.5], autorange: false });
    expect(lastData(div)).toEqual(fine);
    expect(request).toHaveBeenCalledOnce();
  });

  it('keeps the zoom of a plot without finer data (no service; not a time series) when the theme changes', async () => {
    const { div } = await shown();
    zoom(div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 2, 'yaxis.range[0]': 0, 'yaxis.range[1]': 1 });
    const xy = await shown({ version: 1, kind: 'xy', traces: [{ name: 'p', x: [0, 1, 2], y: [0, 1, 4] }] });
    zoom(xy.div, { 'xaxis.range[0]': 0.5, 'xaxis.range[1]': 1.5, 'yaxis.range[0]': 0.5, 'yaxis.range[1]': 2 });
    themeChange();
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    await vi.waitFor(() => expect(draws(xy.div)).toBe(2));
    expect(lastLayout(div).xaxis).toMatchObject({ range: [1, 2], autorange: false });
    expect(lastLayout(div).yaxis).toMatchObject({ range: [0, 1], autorange: false });
    expect(lastData(div)[0]!.x).toHaveLength(2 * t.length); // the saved min/max data
    expect(lastLayout(xy.div).xaxis).toMatchObject({ range: [0.5, 1.5] });
    expect(lastLayout(xy.div).yaxis).toMatchObject({ range: [0.5, 2] });
  });

  it('fetches finer data for a zoom that plotly sends as the whole range array (modebar, programmatic)', async () => {
    const request = service();
    const { div } = await shown();
    zoom(div, { 'xaxis.range': [1, 2], 'yaxis.range': [0, 5] });
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    expect(request).toHaveBeenCalledOnce();
    expect(request.mock.calls[0]![1]).toMatchObject({ t0: 1, t1: 2 });
    expect(lastData(div)[0]!.x[0]).toBe(1);
    expect(lastLayout(div).xaxis).toMatchObject({ range: [1, 2], autorange: false });
    expect(lastLayout(div).yaxis).toMatchObject({ range: [0, 5], autorange: false });
  });

  it('fits a zoomed plot to a new width without drawing it anew (plotly keeps its ranges)', async () => {
    const { r, div } = await shown();
    zoom(div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 2 });
    const before = fake.resize;
    resizeCallbacks.get(r.node as unknown as FakeElement)!([{ contentRect: { width: 420 } }]);
    await vi.waitFor(() => expect(fake.resize).toBe(before + 1));
    expect(draws(div)).toBe(1);
  });

  it('fetches finer data again for a zoomed plot made wider, once its width settles', async () => {
    const request = service();
    const { r, div } = await shown();
    const node = r.node as unknown as FakeElement;
    zoom(div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 2 });
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    expect(request.mock.calls[0]![1]).toMatchObject({ maxPoints: 1200 });
    // narrower: the data is fine enough
    node.clientWidth = 500;
    resizeCallbacks.get(node)!([{ contentRect: { width: 500 } }]);
    await new Promise((res) => setTimeout(res, 200));
    expect(request).toHaveBeenCalledOnce();
    // a drag-resize to 900 pixels, a frame at a time: one fetch, for the width it came to
    for (const width of [600, 700, 800, 900]) {
      node.clientWidth = width;
      resizeCallbacks.get(node)!([{ contentRect: { width } }]);
      await new Promise((res) => setTimeout(res, 10));
    }
    await vi.waitFor(() => expect(draws(div)).toBe(3));
    expect(request).toHaveBeenCalledTimes(2);
    expect(request.mock.calls[1]![1]).toMatchObject({ t0: 1, t1: 2, maxPoints: 1800 });
    expect(lastLayout(div).xaxis).toMatchObject({ range: [1, 2], autorange: false });
    await new Promise((res) => setTimeout(res, 200));
    expect(request).toHaveBeenCalledTimes(2);
  });

  it('does not fetch again for a wider plot whose zoom got the raw samples, or without the service', async () => {
    const request = service();
    const answer = request.getMockImplementation()!;
    request.mockImplementation(async (type, params) => ({ ...((await answer(type, params)) as object), result: { mode: 'raw' } }));
    const { r, div } = await shown();
    const node = r.node as unknown as FakeElement;
    zoom(div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 2 });
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    node.clientWidth = 900;
    resizeCallbacks.get(node)!([{ contentRect: { width: 900 } }]);
    await new Promise((res) => setTimeout(res, 200));
    expect(request).toHaveBeenCalledOnce();

    const b = await shown();
    const bNode = b.r.node as unknown as FakeElement;
    request.mockImplementation(answer);
    zoom(b.div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 2 });
    await vi.waitFor(() => expect(draws(b.div)).toBe(2));
    const fine = lastData(b.div);
    // the service went away: the finer data stays, with no note
    client.current!.isConnected = false;
    bNode.clientWidth = 900;
    resizeCallbacks.get(bNode)!([{ contentRect: { width: 900 } }]);
    await new Promise((res) => setTimeout(res, 200));
    expect(request).toHaveBeenCalledTimes(2);
    expect(lastData(b.div)).toEqual(fine);
    expect(bNode.children[1]!.hidden).toBe(true);
  });

  it('shows a retired plot clicked back with the zoom and the data it had', async () => {
    const request = service();
    const { r, div } = await shown();
    zoom(div, { 'xaxis.range[0]': 2, 'xaxis.range[1]': 3, 'yaxis.range[0]': 0, 'yaxis.range[1]': 40 });
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    const fine = lastData(div);
    r.retire();
    expect(div.children[0]!.tagName).toBe('img');
    const n = await clickBack(div);
    expect(lastLayout(div).xaxis).toMatchObject({ range: [2, 3], autorange: false });
    expect(lastLayout(div).yaxis).toMatchObject({ range: [0, 40], autorange: false });
    expect(lastData(div)).toEqual(fine);
    // its data is for its view: nothing to fetch again
    await new Promise((res) => setTimeout(res, 200));
    expect(request).toHaveBeenCalledOnce();
    expect(draws(div)).toBe(n);
  });

  it('resets the axes of a plot clicked back to the whole plot, not to the zoom it was shown with', async () => {
    service();
    const { r, div } = await shown();
    zoom(div, { 'xaxis.range[0]': 2, 'xaxis.range[1]': 3, 'yaxis.range[0]': 0, 'yaxis.range[1]': 40 });
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    r.retire();
    div.children[0]!.click();
    await vi.waitFor(() => expect(lastLayout(div).xaxis).toMatchObject({ range: [2, 3], autorange: false }));
    expect(lastLayout(div).yaxis).toMatchObject({ range: [0, 40], autorange: false });
    // plotly took the zoom the plot was drawn with for its initial ranges: a reset went back to that zoom first
    await vi.waitFor(() => expect(div.handlers?.has('plotly_relayout')).toBe(true));
    const n = draws(div);
    resetAxes(div);
    await vi.waitFor(() => expect(draws(div)).toBe(n + 1));
    expect(lastLayout(div).xaxis?.range).toBeUndefined();
    expect(lastLayout(div).yaxis?.range).toBeUndefined();
    expect(lastData(div)[0]!.x).toHaveLength(2 * t.length);
  });

  it('shows a plot retired while its zoom’s fetch was under way with data for its view when clicked back', async () => {
    const request = service();
    const { r, div } = await shown();
    zoom(div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 1.5 });
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    // the next zoom's reply comes only after the plot was retired: it is dropped
    const answer = request.getMockImplementation()!;
    let reply!: () => void;
    request.mockImplementationOnce((type, params) => new Promise((res) => void (reply = () => res(answer(type, params)))));
    zoom(div, { 'xaxis.range[0]': 2, 'xaxis.range[1]': 3 });
    await vi.waitFor(() => expect(request).toHaveBeenCalledTimes(2));
    r.retire();
    reply();
    await new Promise((res) => setTimeout(res, 0));
    expect(draws(div)).toBe(2);
    // it showed the view [2, 3] with the first zoom's data of [1, 1.5] alone: the saved data until finer data comes
    await clickBack(div);
    const drawn = fake.react.filter((c) => c.div === div).slice(2);
    const inView = drawn.find((c) => (c.layout as Layout).xaxis?.range?.join() === '2,3')!;
    expect(inView.data).toEqual(fake.react.find((c) => c.div === div)!.data);
    await vi.waitFor(() => expect(lastData(div)[0]!.x[0]).toBe(2));
    expect(request).toHaveBeenCalledTimes(3);
    expect(request.mock.calls[2]![1]).toMatchObject({ t0: 2, t1: 3 });
    expect(lastData(div)[0]!.x[0]).toBe(2);
    expect(lastLayout(div).xaxis).toMatchObject({ range: [2, 3], autorange: false });
  });

  it('a double-click (autorange) still shows the whole saved plot; a new output starts unzoomed', async () => {
    service();
    const { r, div } = await shown();
    zoom(div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 2, 'yaxis.range[0]': 0, 'yaxis.range[1]': 1 });
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    zoom(div, { 'xaxis.autorange': true, 'yaxis.autorange': true });
    await vi.waitFor(() => expect(draws(div)).toBe(3));
    expect(lastLayout(div).xaxis?.range).toBeUndefined();
    expect(lastLayout(div).yaxis?.range).toBeUndefined();
    expect(lastData(div)[0]!.x).toHaveLength(2 * t.length);
    zoom(div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 2 });
    await vi.waitFor(() => expect(draws(div)).toBe(4));
    // the cell ran again: its new plot is drawn whole
    await r.renderModel(mimeModel({ ...spec, title: 'again' }));
    expect(draws(div)).toBe(5);
    expect(lastLayout(div).xaxis?.range).toBeUndefined();
    expect(lastData(div)[0]!.x).toHaveLength(2 * t.length);
  });
});

describe('plot renderer: WebGL contexts', () => {
  /** The WebGL contexts drawn into a plot's div. */
  const contextsOf = (div: GraphDiv): FakeGL[] => {
    const out: FakeGL[] = [];
    const walk = (n: FakeElement) => {
      if (n instanceof FakeCanvas) out.push(...glMade.filter((g) => g.canvas === n));
      n.children.forEach(walk);
    };
    walk(div);
    return out;
  };

  it('frees a disposed plot’s contexts at once, not at another plot’s next draw', async () => {
    const { r, div } = await shown();
    const gl = contextsOf(div);
    expect(gl).toHaveLength(1);
    expect(gl[0]!.lost).toBe(false);
    // its output cleared (or its cell deleted, its notebook closed): Chromium counts the context until it is lost
    r.dispose();
    expect(gl[0]!.lost).toBe(true);
  });
});

describe('plot renderer: the contexts of other code', () => {
  it('records only the contexts of its plots’ canvases and of plotly’s PNG copies', async () => {
    let go!: () => void;
    fake.hold = new Promise((res) => (go = res));
    const before = glMade.length;
    const drawing = shown();
    const a = made[made.length - 1]!;
    const aDiv = (a.node as unknown as FakeElement).children[0] as GraphDiv;
    await vi.waitFor(() => expect(draws(aDiv)).toBe(1));
    // another extension's offscreen canvas, made while a plot draws: it was recorded, and lost as a canvas off the page
    const other = (document.createElement('canvas') as unknown as FakeCanvas).getContext('webgl')!;
    fake.hold = null;
    go();
    await drawing;
    expect(other.lost).toBe(false);
    const b = await shown();
    b.r.retire();
    a.dispose();
    expect(other.lost).toBe(false);
    // the plots' own contexts and those of toImage's dropped copies are freed as before
    const ours = glMade.slice(before).filter((g) => g !== other);
    expect(ours).toHaveLength(4); // two plots, each drawn and copied once for its PNG
    expect(ours.every((g) => g.lost)).toBe(true);
  });
});

describe('plot renderer: a zoom without finer data', () => {
  const note = (r: PlotRenderer) => (r.node as unknown as FakeElement).children[1]!;

  it('shows the saved data in the new range, not the finer data of an earlier zoom, when the service is gone', async () => {
    service();
    const { r, div } = await shown();
    zoom(div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 1.5 });
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    expect(lastData(div)[0]!.x.every((x) => x >= 1 && x <= 1.5)).toBe(true);
    // the service went away: zoomed out, the plot showed the earlier window's data alone
    client.current = { isConnected: false, request: () => Promise.reject(new Error('not connected')) };
    zoom(div, { 'xaxis.range[0]': 0, 'xaxis.range[1]': 4 });
    await vi.waitFor(() => expect(draws(div)).toBe(3));
    expect(lastData(div)[0]!.x).toHaveLength(2 * t.length);
    expect(lastLayout(div).xaxis).toMatchObject({ range: [0, 4], autorange: false });
    expect(note(r).hidden).toBe(false);
    expect(note(r).textContent).toMatch(/saved \(decimated\) data/);
  });

  it('shows the saved data in the new range when the fetch fails (the simulation is gone with a restart)', async () => {
    const request = service();
    const { r, div } = await shown();
    zoom(div, { 'xaxis.range[0]': 1, 'xaxis.range[1]': 1.5 });
    await vi.waitFor(() => expect(draws(div)).toBe(2));
    request.mockImplementation(() => Promise.reject(new Error("no simulation 'sim1'")));
    zoom(div, { 'xaxis.range[0]': 0.5, 'xaxis.range[1]': 3 });
    await vi.waitFor(() => expect(draws(div)).toBe(3));
    expect(lastData(div)[0]!.x).toHaveLength(2 * t.length);
    expect(lastLayout(div).xaxis).toMatchObject({ range: [0.5, 3], autorange: false });
    expect(note(r).textContent).toMatch(/No finer data for this zoom \(no simulation 'sim1'\)/);
  });
});

describe('plot renderer: a live plot out of the page', () => {
  it('keeps the contexts of a live plot whose cell a windowed notebook took out of the page', async () => {
    const a = await shown();
    const gl = glMade.filter((g) => a.div.contains(g.canvas));
    expect(gl).toHaveLength(1);
    // windowingMode 'full': a cell scrolled away leaves the page without being disposed; when another plot drew,
    // its context was lost as if it were a purged plot's, and the plot was blank when scrolled back
    (a.r.node as unknown as FakeElement).remove();
    const b = await shown();
    expect(draws(b.div)).toBe(1);
    expect(gl[0]!.lost).toBe(false);
    // disposed (its cell deleted meanwhile), it is freed as before
    a.r.dispose();
    expect(gl[0]!.lost).toBe(true);
  });
});
