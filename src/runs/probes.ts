/** probe.list results (pure, unit tested). */

export interface ProbeInfo {
  name: string;
  dims: number;
  label?: string;
  attr?: string;
  target?: string;
}

export function parseProbeList(result: unknown): ProbeInfo[] {
  const list = Array.isArray(result)
    ? result
    : typeof result === 'object' && result !== null
      ? (result as Record<string, unknown>).probes
      : undefined;
  if (!Array.isArray(list)) return [];
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
    });
  }
  return out;
}
