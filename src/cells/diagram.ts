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
  /**
   * Connections into a learning rule (PES's error, say), drawn dashed from their pre to the learned
   * connection's post: they change that connection, and were left out (the error looked like a dead end).
   */
  learning?: [string, string][];
  /** Items and connections the model has: more than those given when the session sent only the first DIAGRAM_ITEMS. */
  total: number;
  totalEdges: number;
}

/** Boxes drawn at most: more do not read as a diagram. The session sends no more than these (and their connections). */
export const DIAGRAM_ITEMS = 60;
/** Characters of a label the session sends: the box shows about 20, its tooltip the rest. */
const LABEL_CHARS = 200;

/**
 * JavaScript run in the design session (not a model cell) that returns the model's structure. It sends only
 * the first DIAGRAM_ITEMS items, the connections between them, and labels cut to LABEL_CHARS, with the totals:
 * all of them, a model of thousands of objects was more JSON than a cell's value may be (so no diagram at all).
 */
export const STRUCTURE_CODE = `(() => {
  const m = model;
  if (!m || !Array.isArray(m.allEnsembles)) return null;
  const items = new Map();
  const netIndex = new Map(m.networks.map((n, i) => [n, i]));
  const cut = (s) => (s.length > ${LABEL_CHARS} ? s.slice(0, ${LABEL_CHARS}) : s);
  const groupOf = (o) => {
    let n = o.network, prev = null;
    while (n && n !== m) { prev = n; n = n.parent; }
    return prev;
  };
  // each item's place in the model: its first object's creation number (ids count up across types)
  const order = new Map();
  const keyOf = (o) => {
    const g = groupOf(o);
    let k;
    if (g) {
      k = 'net' + (netIndex.get(g) ?? -1);
      if (!items.has(k)) items.set(k, { id: k, kind: 'network', label: cut(g.label || 'network'), neurons: 0 });
    } else {
      k = (o.typeName === 'Ensemble' ? 'e' : 'n') + o.id;
      if (!items.has(k)) items.set(k, { id: k, kind: o.typeName === 'Ensemble' ? 'ensemble' : 'node', label: cut(o.label || o.typeName + ' ' + o.id), neurons: o.nNeurons || 0 });
    }
    if (typeof o.id === 'number' && !(order.get(k) <= o.id)) order.set(k, o.id);
    return k;
  };
  for (const e of m.allEnsembles) { const k = keyOf(e); const it = items.get(k); if (it.kind === 'network') it.neurons += e.nNeurons; }
  for (const n of m.allNodes) keyOf(n);
  const base = (p) => { for (let i = 0; i < 5 && p; i++) { if (p.obj) p = p.obj; else if (p.connection) return null; else if (p.ensemble && p.typeName !== 'Ensemble') p = p.ensemble; else break; } return p; };
  // a learning rule (a connection's post): the post of the connection it learns on
  const ruleOf = (p) => { for (let i = 0; i < 5 && p; i++) { if (p.obj) p = p.obj; else if (p.connection) return p; else return null; } return null; };
  const edges = new Set(), learning = new Set();
  for (const c of m.allConnections) {
    const a = base(c.pre);
    let b = base(c.post), into = edges;
    if (!b) {
      const rule = ruleOf(c.post);
      if (rule) { b = base(rule.connection.post); into = learning; }
    }
    if (!a || !b || a.id === undefined || b.id === undefined) continue;
    const ka = keyOf(a), kb = keyOf(b);
    if (ka === kb && items.get(ka).kind === 'network') continue;
    into.add(ka + '\\u0000' + kb);
  }
  // the first items as the model made them (its inputs first, as written), not its ensembles before its nodes
  const all = [...items.values()].sort((x, y) => (order.get(x.id) ?? Number.MAX_SAFE_INTEGER) - (order.get(y.id) ?? Number.MAX_SAFE_INTEGER));
  const kept = new Set(all.slice(0, ${DIAGRAM_ITEMS}).map((i) => i.id));
  const shown = (set) => [...set].map((e) => e.split('\\u0000')).filter(([a, b]) => kept.has(a) && kept.has(b));
  return { items: all.slice(0, ${DIAGRAM_ITEMS}), edges: shown(edges), learning: shown(learning), total: all.length, totalEdges: edges.size };
})()`;

/** A count the session sent, if it is one and not below what was sent. */
function countOr(x: unknown, atLeast: number): number {
  return typeof x === 'number' && Number.isInteger(x) && x >= atLeast ? x : atLeast;
}

/** The structure the session returned, or null if it is not one. Never throws: what is malformed is left out. */
export function parseGraph(x: unknown): DiagramGraph | null {
  if (typeof x !== 'object' || x === null) return null;
  const o = x as Record<string, unknown>;
  if (!Array.isArray(o.items) || !Array.isArray(o.edges)) return null;
  const items: DiagramItem[] = [];
  const ids = new Set<string>();
  for (const i of o.items) {
    if (typeof i !== 'object' || i === null) continue;
    const r = i as Record<string, unknown>;
    // (an id twice drew two boxes at one place)
    if (typeof r.id !== 'string' || ids.has(r.id)) continue;
    ids.add(r.id);
    const kind = r.kind === 'ensemble' || r.kind === 'network' ? r.kind : 'node';
    const label = typeof r.label === 'string' ? r.label : r.id;
    items.push({
      id: r.id,
      kind,
      label: label.length > LABEL_CHARS ? label.slice(0, LABEL_CHARS) : label,
      neurons: typeof r.neurons === 'number' && Number.isFinite(r.neurons) && r.neurons >= 0 ? Math.round(r.neurons) : 0,
    });
  }
  const pairs = (list: unknown[]): [string, string][] =>
    list.filter(
      (e): e is [string, string] =>
        Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'string' && ids.has(e[0]) && ids.has(e[1]),
    );
  const edges = pairs(o.edges);
  const learning = Array.isArray(o.learning) ? pairs(o.learning) : [];
  return { items, edges, learning, total: countOr(o.total, items.length), totalEdges: countOr(o.totalEdges, edges.length) };
}

/** Column of each item: its longest distance from a source, ignoring back edges. */
export function layers(g: Pick<DiagramGraph, 'items' | 'edges'>): Map<string, number> {
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

/* eslint-disable no-control-regex -- control characters are what it finds */
/** What XML 1.0 may not hold: control characters but tab and newlines, U+FFFE and U+FFFF, half of a UTF-16 pair. */
const NOT_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/* eslint-enable no-control-regex */

/**
 * Escaped for XML, with what XML may not hold as U+FFFD: JupyterLab shows the SVG as an <img> of
 * encodeURIComponent(svg), which throws on half a UTF-16 pair; a control character made the image not load.
 */
function esc(s: string): string {
  return s
    .replace(NOT_XML, '\uFFFD')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** A label as its box shows it: 20 characters at most, cut between characters (not inside an emoji's pair). */
function shortLabel(label: string): string {
  const chars = Array.from(label);
  return chars.length > 20 ? chars.slice(0, 19).join('') + '…' : label;
}

/**
 * textLength for a text wider than `width` pixels (at 12 px, on the wide side), so that it is squeezed into its box:
 * 20 capitals or CJK characters, and '12,000 neurons (subnetwork)', ran past the box into the next.
 */
function fit(text: string, width: number, bold: boolean): string {
  let w = 0;
  for (const c of text) {
    const cp = c.codePointAt(0)!;
    // East Asian wide characters and emoji: a full em; capitals and digits wider than lower case (Arial's widths)
    w += cp >= 0x1100 ? 12 : /[A-Zmw@%#&]/.test(c) ? 8.5 : /\d/.test(c) ? 6.7 : 6;
  }
  if (bold) w *= 1.08;
  return w > width ? ` textLength="${width}" lengthAdjust="spacingAndGlyphs"` : '';
}

const COLORS: Record<DiagramItem['kind'], string> = { ensemble: '#1f77b4', node: '#7f7f7f', network: '#2ca02c' };

/** Boxes in one column at most: a layer with more goes on in the next column. */
const MAX_ROWS = 12;

/** The diagram as a standalone SVG (readable on light and dark backgrounds). */
export function diagramSvg(g: DiagramGraph, maxItems = DIAGRAM_ITEMS): string {
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
  let col = 0;
  // a layer of more than MAX_ROWS boxes goes on in the next column (60 unconnected boxes were one column
  // 3,820 pixels high), layers in order, left to right
  for (const l of [...cols.keys()].sort((a, b) => a - b)) {
    const list = cols.get(l)!;
    list.forEach((i, n) => pos.set(i.id, { x: 10 + (col + Math.floor(n / MAX_ROWS)) * (W + GX), y: 10 + (n % MAX_ROWS) * (H + GY) }));
    col += Math.ceil(list.length / MAX_ROWS);
    rows = Math.max(rows, Math.min(list.length, MAX_ROWS));
  }
  const width = 20 + Math.max(1, col) * (W + GX) - GX;
  const total = Math.max(g.total, g.items.length);
  // the saved SVG is all the notebook shows: it says when it is a part of the model
  const caption = items.length < total ? `first ${items.length} of ${total.toLocaleString('en-US')} items` : '';
  const boxes = 20 + Math.max(1, rows) * (H + GY) - GY;
  const height = boxes + (caption ? 20 : 0);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    '<defs><marker id="nefsim-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#888"/></marker></defs>',
  );
  // connections into learning rules are dashed and leave the layout alone (they do not feed their target)
  const learning = (g.learning ?? []).filter(([a, b]) => keep.has(a) && keep.has(b));
  for (const [a, b, dash] of [
    ...edges.map(([a, b]) => [a, b, ''] as const),
    ...learning.map(([a, b]) => [a, b, ' stroke-dasharray="5,3"'] as const),
  ]) {
    const p = pos.get(a)!;
    const q = pos.get(b)!;
    if (a === b) {
      parts.push(
        `<path d="M${p.x + W - 30},${p.y} C${p.x + W - 30},${p.y - 18} ${p.x + W - 5},${p.y - 18} ${p.x + W - 5},${p.y}" fill="none" stroke="#888" stroke-width="1.5"${dash} marker-end="url(#nefsim-arrow)"/>`,
      );
      continue;
    }
    const forward = q.x > p.x;
    const x1 = forward ? p.x + W : p.x + W / 2;
    const y1 = forward ? p.y + H / 2 : p.y + H;
    const x2 = forward ? q.x : q.x + W / 2;
    const y2 = forward ? q.y + H / 2 : q.y + H;
    const c = forward ? `C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}` : `C${x1},${y1 + 30} ${x2},${y2 + 30} ${x2},${y2}`;
    parts.push(`<path d="M${x1},${y1} ${c}" fill="none" stroke="#888" stroke-width="1.5"${dash} marker-end="url(#nefsim-arrow)"/>`);
  }
  for (const i of items) {
    const p = pos.get(i.id)!;
    const color = COLORS[i.kind];
    const rx = i.kind === 'node' ? 2 : 12;
    const label = shortLabel(i.label);
    const sub = i.kind === 'node' ? 'node' : `${i.neurons.toLocaleString('en-US')} neurons${i.kind === 'network' ? ' (subnetwork)' : ''}`;
    parts.push(
      `<g><title>${esc(i.label)}: ${esc(sub)}</title><rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="${rx}" fill="${color}" fill-opacity="0.15" stroke="${color}" stroke-width="1.5"/>`,
      `<text x="${p.x + W / 2}" y="${p.y + 18}" text-anchor="middle"${fit(label, W - 10, true)} fill="${color}" font-weight="bold">${esc(label)}</text>`,
      `<text x="${p.x + W / 2}" y="${p.y + 34}" text-anchor="middle"${fit(sub, W - 10, false)} fill="#888">${esc(sub)}</text></g>`,
    );
  }
  if (caption) parts.push(`<text x="10" y="${boxes + 10}" fill="#888">${esc(caption)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}
