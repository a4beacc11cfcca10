/** probe.list results (pure, unit tested). */

export interface ProbeInfo {
  name: string;
  dims: number;
  label?: string;
  attr?: string;
  target?: string;
  units?: string;
  /** 'spikes' (drawn as a raster) or 'dense', as the service says (older services: undefined). */
  layout?: 'spikes' | 'dense';
  /** Samples stored so far, and the time between samples (s). */
  rows?: number;
  sampleEvery?: number;
  /** The simulation's time step (s): a probe sampled more often than this is sampled every step. */
  dt?: number;
}

/** Does this probe record spikes (a neurons' output)? Then it is drawn as a raster. */
export function isSpikeProbe(p: ProbeInfo): boolean {
  // the service knows (a filtered neurons' output or a rate type is not spikes, whatever its units say)
  if (p.layout !== undefined) return p.layout === 'spikes';
  if (p.units && /spike/i.test(p.units)) return true;
  return p.attr === 'output' && !!p.target && /neurons/i.test(p.target);
}

/** post.spikes arrays (n0, n1, ...: spike times of each neuron) → one raster trace's points. */
export function rasterPoints(arrays: { header: { name: string }; data: ArrayLike<number> }[]): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (const a of arrays) {
    const m = /^n(\d+)$/.exec(a.header.name);
    if (!m) continue;
    const neuron = Number(m[1]);
    for (let i = 0; i < a.data.length; i++) {
      x.push(a.data[i]);
      y.push(neuron);
    }
  }
  return { x, y };
}

export function parseProbeList(result: unknown): ProbeInfo[] {
  const list = Array.isArray(result)
    ? result
    : typeof result === 'object' && result !== null
      ? (result as Record<string, unknown>).probes
      : undefined;
  if (!Array.isArray(list)) return [];
  // a run's probes each say their dt; an inline simulation's list says it once
  const simDt =
    !Array.isArray(result) && typeof result === 'object' && result !== null ? (result as Record<string, unknown>).dt : undefined;
  const out: ProbeInfo[] = [];
  for (const p of list) {
    if (typeof p === 'string') {
      out.push({ name: p, dims: 1 });
      continue;
    }
    if (typeof p !== 'object' || p === null) continue;
    const o = p as Record<string, unknown>;
    const name = typeof o.name === 'string' && o.name ? o.name : typeof o.label === 'string' && o.label ? o.label : undefined;
    if (!name) continue;
    const shape = Array.isArray(o.shape) ? o.shape : undefined;
    const dims =
      typeof o.dims === 'number' ? o.dims : typeof o.size === 'number' ? o.size : shape && typeof shape[1] === 'number' ? shape[1] : 1;
    out.push({
      name,
      dims,
      label: typeof o.label === 'string' && o.label ? o.label : undefined,
      attr: typeof o.attr === 'string' ? o.attr : undefined,
      target: typeof o.target === 'string' ? o.target : undefined,
      ...(typeof o.units === 'string' && o.units ? { units: o.units } : {}),
      ...(o.layout === 'spikes' || o.layout === 'dense' ? { layout: o.layout } : {}),
      ...(shape && typeof shape[0] === 'number' ? { rows: shape[0] } : {}),
      ...(typeof o.sampleEvery === 'number' ? { sampleEvery: o.sampleEvery } : {}),
      ...(typeof o.dt === 'number' ? { dt: o.dt } : typeof simDt === 'number' ? { dt: simDt } : {}),
    });
  }
  return out;
}

/**
 * Seconds of spikes a raster shows: the whole probe when short (no t1), else its first RASTER_SECONDS. The
 * probe's length is estimated from its samples: a sample_every under dt samples every dt, and one that is not
 * a whole number of steps puts its last sample up to a step after rows * sample_every (t1 = that estimate left
 * that sample's spikes out, and a probe sampled every half step was cut at half its length, as if whole).
 */
export const RASTER_SECONDS = 2;
export function rasterWindow(p: ProbeInfo): { t0: number; t1?: number; clipped: boolean } {
  const step = p.sampleEvery !== undefined ? Math.max(p.sampleEvery, p.dt ?? 0) : undefined;
  const total = p.rows !== undefined && step !== undefined ? p.rows * step : Infinity;
  return total <= RASTER_SECONDS ? { t0: 0, clipped: false } : { t0: 0, t1: RASTER_SECONDS, clipped: true };
}
