/**
 * The network diagram of a model's build summary: the session returns the
 * model's structure (top-level ensembles and nodes, subnetworks collapsed to
 * one box each, connections between them), and this draws it as SVG, saved
 * in the notebook like any output. Pure: unit tested.
 */

export interface DiagramItem {
  id: string;
  kind: 'ensemble' | 'node' | 'network';
  label: string;
  neurons: number;
}

export interface DiagramGraph {
  items: DiagramItem[];
  edges: [string, string][];
}

/** JavaScript run in the design session (not a model cell) that returns the model's structure. */
export const STRUCTURE_CODE = `(() => {
  const m = model;
  if (!m || !Array.isArray(m.allEnsembles)) return null;
  const items = new Map();
  const groupOf = (o) => {
    let n = o.network, prev = null;
    while (n && n !== m) { prev = n; n = n.parent; }
    return prev;
  };
  const keyOf = (o) => {
    const g = groupOf(o);
    if (g) {
      const k = 'net' + m.networks.indexOf(g);
      if (!items.has(k)) items.set(k, { id: k, kind: 'network', label: g.label || 'network', neurons: 0 });
      return k;
    }
    const k = (o.typeName === 'Ensemble' ? 'e' : 'n') + o.id;
    if (!items.has(k)) items.set(k, { id: k, kind: o.typeName === 'Ensemble' ? 'ensemble' : 'node', label: o.label || o.typeName + ' ' + o.id, neurons: o.nNeurons || 0 });
    return k;
  };
  for (const e of m.allEnsembles) { const k = keyOf(e); const it = items.get(k); if (it.kind === 'network') it.neurons += e.nNeurons; }
  for (const n of m.allNodes) keyOf(n);
  const base = (p) => { for (let i = 0; i < 5 && p; i++) { if (p.obj) p = p.obj; else if (p.connection) return null; else if (p.ensemble && p.typeName !== 'Ensemble') p = p.ensemble; else break; } return p; };
  const edges = new Set();
  for (const c of m.allConnections) {
    const a = base(c.pre), b = base(c.post);
    if (!a || !b || a.id === undefined || b.id === undefined) continue;
    const ka = keyOf(a), kb = keyOf(b);
    if (ka === kb && items.get(ka).kind === 'network') continue;
    edges.add(ka + '\\u0000' + kb);
  }
  return { items: [...items.values()], edges: [...edges].map((e) => e.split('\\u0000')) };
})()`;

export function parseGraph(x: unknown): DiagramGraph | null {
  if (typeof x !== 'object' || x === null) return null;
  const o = x as Record<string, unknown>;
  if (!Array.isArray(o.items) || !Array.isArray(o.edges)) return null;
  const items: DiagramItem[] = [];
  for (const i of o.items) {
    if (typeof i !== 'object' || i === null) continue;
    const r = i as Record<string, unknown>;
    if (typeof r.id !== 'string') continue;
    const kind = r.kind === 'ensemble' || r.kind === 'network' ? r.kind : 'node';
    items.push({
      id: r.id,
      kind,
      label: typeof r.label === 'string' ? r.label : r.id,
      neurons: typeof r.neurons === 'number' ? r.neurons : 0,
    });
  }
  const ids = new Set(items.map((i) => i.id));
  const edges = o.edges.filter((e): e is [string, string] => Array.isArray(e) && e.length === 2 && ids.has(e[0]) && ids.has(e[1]));
  return { items, edges };
}

/** Column of each item: its longest distance from a source, ignoring back edges. */
export function layers(g: DiagramGraph): Map<string, number> {
  const out = new Map<string, string[]>();
  const indeg = new Map<string, number>();
  for (const i of g.items) {
    out.set(i.id, []);
    indeg.set(i.id, 0);
  }
  for (const [a, b] of g.edges) {
    if (a === b) continue;
    out.get(a)!.push(b);
    indeg.set(b, (indeg.get(b) ?? 0) + 1);
  }
  const layer = new Map<string, number>();
  const queue = g.items.filter((i) => indeg.get(i.id) === 0).map((i) => i.id);
  if (!queue.length && g.items.length) queue.push(g.items[0].id);
  queue.forEach((id) => layer.set(id, 0));
  const seen = new Set<string>();
  // Kahn's order; cycles are broken by visiting each item once.
  while (queue.length) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const b of out.get(id) ?? []) {
      if (seen.has(b)) continue;
      layer.set(b, Math.max(layer.get(b) ?? 0, (layer.get(id) ?? 0) + 1));
      indeg.set(b, (indeg.get(b) ?? 1) - 1);
      if ((indeg.get(b) ?? 0) <= 0) queue.push(b);
    }
    if (!queue.length) {
      const rest = g.items.find((i) => !seen.has(i.id));
      if (rest) {
        if (!layer.has(rest.id)) layer.set(rest.id, 0);
        queue.push(rest.id);
      }
    }
  }
  return layer;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const COLORS: Record<DiagramItem['kind'], string> = { ensemble: '#1f77b4', node: '#7f7f7f', network: '#2ca02c' };

/** The diagram as a standalone SVG (readable on light and dark backgrounds). */
export function diagramSvg(g: DiagramGraph, maxItems = 60): string {
  const items = g.items.slice(0, maxItems);
  const keep = new Set(items.map((i) => i.id));
  const edges = g.edges.filter(([a, b]) => keep.has(a) && keep.has(b));
  const layer = layers({ items, edges });
  const cols = new Map<number, DiagramItem[]>();
  for (const i of items) {
    const l = layer.get(i.id) ?? 0;
    if (!cols.has(l)) cols.set(l, []);
    cols.get(l)!.push(i);
  }
  const W = 150;
  const H = 44;
  const GX = 60;
  const GY = 20;
  const pos = new Map<string, { x: number; y: number }>();
  let rows = 0;
  for (const [l, list] of cols) {
    list.forEach((i, r) => pos.set(i.id, { x: 10 + l * (W + GX), y: 10 + r * (H + GY) }));
    rows = Math.max(rows, list.length);
  }
  const width = 20 + Math.max(1, cols.size) * (W + GX) - GX;
  const height = 20 + Math.max(1, rows) * (H + GY) - GY;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<defs><marker id="nefsim-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#888"/></marker></defs>',
  );
  for (const [a, b] of edges) {
    const p = pos.get(a)!;
    const q = pos.get(b)!;
    if (a === b) {
      parts.push(
        `<path d="M${p.x + W - 30},${p.y} C${p.x + W - 30},${p.y - 18} ${p.x + W - 5},${p.y - 18} ${p.x + W - 5},${p.y}" fill="none" stroke="#888" stroke-width="1.5" marker-end="url(#nefsim-arrow)"/>`,
      );
      continue;
    }
    const forward = q.x > p.x;
    const x1 = forward ? p.x + W : p.x + W / 2;
    const y1 = forward ? p.y + H / 2 : p.y + H;
    const x2 = forward ? q.x : q.x + W / 2;
    const y2 = forward ? q.y + H / 2 : q.y + H;
    const c = forward ? `C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}` : `C${x1},${y1 + 30} ${x2},${y2 + 30} ${x2},${y2}`;
    parts.push(`<path d="M${x1},${y1} ${c}" fill="none" stroke="#888" stroke-width="1.5" marker-end="url(#nefsim-arrow)"/>`);
  }
  for (const i of items) {
    const p = pos.get(i.id)!;
    const color = COLORS[i.kind];
    const rx = i.kind === 'node' ? 2 : 12;
    const sub = i.kind === 'node' ? 'node' : `${i.neurons.toLocaleString('en-US')} neurons${i.kind === 'network' ? ' (subnetwork)' : ''}`;
    parts.push(
      `<g><title>${esc(i.label)}: ${esc(sub)}</title><rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="${rx}" fill="${color}" fill-opacity="0.15" stroke="${color}" stroke-width="1.5"/>`,
      `<text x="${p.x + W / 2}" y="${p.y + 18}" text-anchor="middle" fill="${color}" font-weight="bold">${esc(i.label.length > 20 ? i.label.slice(0, 19) + '…' : i.label)}</text>`,
      `<text x="${p.x + W / 2}" y="${p.y + 34}" text-anchor="middle" fill="#888">${esc(sub)}</text></g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}
