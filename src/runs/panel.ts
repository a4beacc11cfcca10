/**
 * The Runs panel (left sidebar): every run with its state, a progress bar,
 * simulated time, steps per second and time left, refreshed live; cancel,
 * delete, plot probes, copy a Python (h5py) snippet.
 */
import { Clipboard, Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { type NefsimClient } from '../client/client.js';
import type { EventMessage, RunInfo } from '../client/protocol.js';
import { pythonToCopy } from './copy-python.js';
import { ACTIVE_STATES, panelMessage, parseRunList, progressOf, runAction, runDetails, runError, runErrorLine } from './format.js';

export interface RunsPanelOptions {
  client: NefsimClient;
  /** Adds the run's probe plots to the current notebook. */
  plotProbes: (run: RunInfo) => Promise<void>;
}

export class RunsPanel extends Widget {
  private runs: RunInfo[] = [];
  private list = document.createElement('div');
  /** Each run's row, with what it was made for (state, label, error): see render. */
  private rows = new Map<string, { el: HTMLElement; shape: string }>();
  /** The service's runs folder (absolute, from run.list): where Copy Python's snippet reads. */
  private runsDir: string | undefined;
  private message = document.createElement('div');
  private timer: ReturnType<typeof setTimeout> | null = null;
  private refreshing = false;
  /** Actions under way ('run:action'): their buttons stay disabled across re-renders (no double cancel). */
  private working = new Set<string>();
  private readonly client: NefsimClient;
  private readonly plotProbes: (run: RunInfo) => Promise<void>;

  constructor(options: RunsPanelOptions) {
    super();
    this.client = options.client;
    this.plotProbes = options.plotProbes;
    this.id = 'nefsim-runs';
    this.addClass('nefsim-RunsPanel');
    this.title.caption = 'nefsim runs';
    const header = document.createElement('div');
    header.className = 'nefsim-RunsPanel-header';
    const h = document.createElement('span');
    h.textContent = 'nefsim runs';
    const refresh = document.createElement('button');
    refresh.className = 'jp-Button jp-mod-minimal jp-mod-styled';
    refresh.textContent = '↻';
    refresh.title = 'Refresh';
    refresh.addEventListener('click', () => void this.refresh());
    header.append(h, refresh);
    this.message.className = 'nefsim-RunsPanel-message';
    this.node.append(header, this.message, this.list);
    this.client.statusChanged.connect(this.onStatus, this);
    this.client.event.connect(this.onEvent, this);
    this.onStatus();
  }

  private onStatus(): void {
    const s = this.client.status;
    // the list stays, marked as from before the service went, its actions unavailable until it is back
    this.updateActions();
    if (s.state === 'connected') {
      void this.refresh();
    } else {
      this.message.textContent = panelMessage(s, this.runs.length);
      this.schedule(5000);
    }
  }

  /** Each action button's state (see runAction), and the list shown as stale while the service is not connected. */
  private updateActions(): void {
    const status = this.client.status;
    this.list.classList.toggle('nefsim-mod-stale', status.state !== 'connected' && this.runs.length > 0);
    for (const b of this.list.querySelectorAll<HTMLButtonElement>('button[data-key]')) {
      const st = runAction(b.dataset.title ?? '', this.working.has(b.dataset.key ?? ''), status);
      if (b.disabled !== st.disabled) b.disabled = st.disabled;
      if (b.title !== st.title) b.title = st.title;
    }
  }

  private onEvent(_: NefsimClient, ev: EventMessage): void {
    if (ev.event !== 'run.progress' && ev.event !== 'run.status' && ev.event !== 'run.ended') return;
    const upd = parseRunList([ev.status ?? ev])[0];
    if (!upd) return;
    const i = this.runs.findIndex((r) => r.run === upd.run);
    if (i >= 0) {
      this.runs[i] = { ...this.runs[i], ...upd };
      this.render();
    }
  }

  /** Reloads the list of runs. */
  async refresh(): Promise<void> {
    if (this.refreshing || this.isDisposed) return;
    if (!this.client.isConnected) return;
    this.refreshing = true;
    try {
      const reply = await this.client.request('run.list', {}, { timeoutMs: 15_000 });
      this.runs = parseRunList(reply.result);
      const dir = (reply.result as { runsDir?: unknown } | null)?.runsDir;
      if (typeof dir === 'string' && dir) this.runsDir = dir;
      this.runs.sort((a, b) => startOf(b) - startOf(a));
      this.message.textContent = panelMessage(this.client.status, this.runs.length);
      this.render();
    } catch (err) {
      // the service went while listing: what onStatus said stays
      this.message.textContent = this.client.isConnected
        ? `Could not list runs: ${err instanceof Error ? err.message : String(err)}`
        : panelMessage(this.client.status, this.runs.length);
    } finally {
      this.refreshing = false;
      const active = this.runs.some((r) => ACTIVE_STATES.has(r.state));
      this.schedule(active ? 1000 : 5000);
    }
  }

  private schedule(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.isDisposed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // hidden, it does not poll the service; it refreshes when shown again
      if (this.client.isConnected && this.isVisible) void this.refresh();
      else this.schedule(5000);
    }, ms);
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  /**
   * Shows this.runs. A row is made anew only when its state, label or error
   * changed; otherwise its progress and details are updated in place, and rows
   * move only when the order changed: the list refreshes every second while a
   * run is active, and a rebuilt row lost a Cancel click that straddled the
   * rebuild, the keyboard focus and a selection.
   */
  private render(): void {
    const rows: HTMLElement[] = [];
    const seen = new Set<string>();
    for (const r of this.runs) {
      seen.add(r.run);
      const shape = JSON.stringify([r.state, r.label ?? null, runError(r) ?? null]);
      let row = this.rows.get(r.run);
      if (!row || row.shape !== shape) {
        const el = this.renderRun(r);
        row?.el.replaceWith(el);
        row = { el, shape };
        this.rows.set(r.run, row);
      } else {
        updateProgress(row.el, r);
      }
      rows.push(row.el);
    }
    for (const [run, row] of this.rows)
      if (!seen.has(run)) {
        row.el.remove();
        this.rows.delete(run);
      }
    const shown = this.list.children;
    if (shown.length !== rows.length || rows.some((el, i) => shown[i] !== el)) this.list.replaceChildren(...rows);
    this.updateActions();
  }

  /** The run's latest record (a row's buttons outlive the refreshes that update it in place). */
  private latest(r: RunInfo): RunInfo {
    return this.runs.find((x) => x.run === r.run) ?? r;
  }

  private renderRun(r: RunInfo): HTMLElement {
    const el = document.createElement('div');
    el.className = 'nefsim-Run';
    el.dataset.run = r.run;
    el.dataset.state = r.state;
    const title = document.createElement('div');
    title.className = 'nefsim-Run-title';
    const name = document.createElement('span');
    name.textContent = typeof r.label === 'string' && r.label ? `${r.label} (${r.run})` : r.run;
    const state = document.createElement('span');
    state.className = 'nefsim-Run-state';
    state.dataset.state = r.state;
    state.textContent = r.state;
    title.append(name, state);
    el.appendChild(title);
    const bar = document.createElement('div');
    bar.className = 'nefsim-Run-progress';
    bar.setAttribute('role', 'progressbar');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', '100');
    const fill = document.createElement('div');
    fill.className = 'nefsim-Run-progressBar';
    bar.appendChild(fill);
    el.appendChild(bar);
    const details = document.createElement('div');
    details.className = 'nefsim-Run-details';
    el.appendChild(details);
    updateProgress(el, r);
    const err = runErrorLine(r);
    if (err) {
      const e = document.createElement('div');
      e.className = r.state === 'failed' ? 'nefsim-Run-error' : 'nefsim-Run-details';
      e.textContent = err;
      el.appendChild(e);
    }
    const actions = document.createElement('div');
    actions.className = 'nefsim-Run-actions';
    const button = (label: string, title: string, fn: () => Promise<void>, cls = '') => {
      const b = document.createElement('button');
      b.className = `jp-Button jp-mod-styled ${cls}`;
      b.textContent = label;
      b.dataset.title = title;
      b.dataset.action = label.toLowerCase().replace(/\s+/g, '-');
      const key = `${r.run}:${b.dataset.action}`;
      b.dataset.key = key;
      const st = runAction(title, this.working.has(key), this.client.status);
      b.disabled = st.disabled;
      b.title = st.title;
      b.addEventListener('click', () => {
        if (this.working.has(key) || !this.client.isConnected) return;
        this.working.add(key);
        b.disabled = true;
        fn()
          .catch((e: unknown) => Notification.error(`${label}: ${e instanceof Error ? e.message : String(e)}`, { autoClose: 6000 }))
          .finally(() => {
            this.working.delete(key);
            b.disabled = runAction(title, false, this.client.status).disabled;
            // and the button of a row made anew meanwhile (the run ended while its probes were plotted)
            this.updateActions();
          });
      });
      actions.appendChild(b);
    };
    if (ACTIVE_STATES.has(r.state)) {
      button('Cancel', 'Stop the run; its data up to now is kept', async () => {
        await this.client.request('run.cancel', { run: r.run }, { timeoutMs: 60_000 });
        await this.refresh();
      });
    }
    if (r.state !== 'queued') {
      button('Plot probes', 'Add the probe plots to the current notebook', () => this.plotProbes(this.latest(r)));
    }
    // a queued run has no folder yet
    if (r.state !== 'queued')
      button('Copy Python', 'Copy h5py code that loads this run’s data', async () => {
        // nothing copied when there is no data to load: the error says why (see pythonToCopy)
        Clipboard.copyToSystem(await pythonToCopy(this.client, this.latest(r), this.runsDir));
        Notification.info('h5py snippet copied', { autoClose: 2500 });
      });
    if (!ACTIVE_STATES.has(r.state)) {
      button('Delete', 'Delete the run folder', async () => {
        const ok = await showDialog({
          title: 'Delete run',
          body: `Delete ${r.run} and its data?`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })],
        });
        if (!ok.button.accept) return;
        await this.client.request('run.delete', { run: r.run }, { timeoutMs: 30_000 });
        await this.refresh();
      });
    }
    el.appendChild(actions);
    return el;
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.client.statusChanged.disconnect(this.onStatus, this);
    this.client.event.disconnect(this.onEvent, this);
    super.dispose();
  }
}

/** A run row's progress bar and details line (floored, as the percentage in the details). */
function updateProgress(el: HTMLElement, r: RunInfo): void {
  const percent = String(Math.floor((progressOf(r) ?? 0) * 100));
  const bar = el.querySelector<HTMLElement>('.nefsim-Run-progress');
  const fill = el.querySelector<HTMLElement>('.nefsim-Run-progressBar');
  const details = el.querySelector<HTMLElement>('.nefsim-Run-details');
  if (bar && bar.getAttribute('aria-valuenow') !== percent) bar.setAttribute('aria-valuenow', percent);
  if (fill) fill.style.width = `${percent}%`;
  const text = runDetails(r);
  if (details && details.textContent !== text) details.textContent = text;
}

function startOf(r: RunInfo): number {
  return typeof r.created === 'string' ? Date.parse(r.created) || 0 : 0;
}
