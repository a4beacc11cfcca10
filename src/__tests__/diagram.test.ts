import { describe, expect, it } from 'vitest';
import { PES } from '../../kernel-service/src/engine/learning.js';
import { Network } from '../../kernel-service/src/engine/network.js';
import { diagramSvg, layers, parseGraph, STRUCTURE_CODE } from '../cells/diagram.js';

/** STRUCTURE_CODE run on a model, as the design session runs it (its value goes out as JSON). */
function structureOf(model: Network): unknown {
  const value: unknown = new Function('model', `return ${STRUCTURE_CODE}`)(model);
  return JSON.parse(JSON.stringify(value)) as unknown;
}

/** Characters XML 1.0 does not allow, and UTF-16 halves without their other half. */
/* eslint-disable no-control-regex -- control characters are what it finds */
const NOT_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/* eslint-enable no-control-regex */

const squaring = {
  items: [
    { id: 'n1', kind: 'node', label: 'sin', neurons: 0 },
    { id: 'e2', kind: 'ensemble', label: 'a', neurons: 100 },
    { id: 'e3', kind: 'ensemble', label: 'sq', neurons: 100 },
  ],
  edges: [
    ['n1', 'e2'],
    ['e2', 'e3'],
  ],
};

describe('network diagram', () => {
  it('validates the structure the session returns', () => {
    expect(parseGraph(null)).toBeNull();
    const g = parseGraph({ ...squaring, edges: [...squaring.edges, ['e2', 'missing']] })!;
    expect(g.items).toHaveLength(3);
    expect(g.edges).toEqual(squaring.edges);
  });

  it('lays items out in columns by their distance from the inputs, also with cycles', () => {
    const g = parseGraph(squaring)!;
    expect(Object.fromEntries(layers(g))).toEqual({ n1: 0, e2: 1, e3: 2 });
    const cyc = parseGraph({
      items: squaring.items,
      edges: [
        ['n1', 'e2'],
        ['e2', 'e3'],
        ['e3', 'e2'],
        ['e3', 'e3'],
      ],
    })!;
    const l = layers(cyc);
    expect(l.get('n1')).toBe(0);
    expect(l.get('e3')).toBeGreaterThan(l.get('e2')!);
  });

  it('draws an SVG with one box per item and one arrow per connection', () => {
    const svg = diagramSvg(parseGraph({ ...squaring, edges: [...squaring.edges, ['e3', 'e3']] })!);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg.match(/marker-end/g)).toHaveLength(3);
    expect(svg).toContain('100 neurons');
    expect(diagramSvg(parseGraph({ items: [{ id: 'x', kind: 'node', label: '<b>&', neurons: 0 }], edges: [] })!)).toContain(
      '&lt;b&gt;&amp;',
    );
  });

  it('sends the session code that reads the structure (an expression)', () => {
    expect(STRUCTURE_CODE.trim().startsWith('(() =>')).toBe(true);
    expect(() => new Function(`return ${STRUCTURE_CODE}`)).not.toThrow();
  });

  it('reads subnetworks as one box, with the connections to and from their neurons and slices', () => {
    const m = new Network({ label: 'm' });
    const a = m.ensemble({ nNeurons: 10, dimensions: 2, label: 'a' });
    const sub = m.network({ label: 'sub' });
    const b = sub.ensemble({ nNeurons: 20, dimensions: 1, label: 'b' });
    const c = sub.network({ label: 'inner' }).ensemble({ nNeurons: 5, dimensions: 1 });
    m.connect(a.slice(0, 1), b.neurons, { transform: Array.from({ length: 20 }, () => [1]) });
    sub.connect(c, b);
    m.connect(c.neurons, a.neurons.slice(0, 5), { transform: 1 });
    m.probe(c.neurons);
    const g = parseGraph(structureOf(m))!;
    const net = g.items.find((i) => i.kind === 'network')!;
    expect(net).toMatchObject({ label: 'sub', neurons: 25 });
    expect(g.items).toHaveLength(2);
    expect(g.edges).toEqual([
      [`e${a.id}`, net.id],
      [net.id, `e${a.id}`],
    ]);
  });

  it("draws a connection into a learning rule (PES's error) dashed, to the learned connection's post, outside the layout", () => {
    const m = new Network({ label: 'learn' });
    const stim = m.node([0.5], { label: 'stim' });
    const pre = m.ensemble({ nNeurons: 10, dimensions: 1, label: 'pre' });
    const post = m.ensemble({ nNeurons: 10, dimensions: 1, label: 'post' });
    const err = m.ensemble({ nNeurons: 10, dimensions: 1, label: 'error' });
    m.connect(stim, pre);
    const conn = m.connect(pre, post, { learningRule: new PES() });
    m.connect(post, err);
    m.connect(pre, err, { transform: -1 });
    m.connect(err, conn.learningRule!);
    const g = parseGraph(structureOf(m))!;
    expect(g.learning).toEqual([[`e${err.id}`, `e${post.id}`]]);
    expect(g.edges).not.toContainEqual([`e${err.id}`, `e${post.id}`]);
    // the error's arrow does not push post into a later column than before
    expect(layers(g)).toEqual(layers({ items: g.items, edges: g.edges }));
    const svg = diagramSvg(g);
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(1);
    expect(svg.match(/marker-end=/g)).toHaveLength(g.edges.length + 1);
    // an older service's structure has no learning list: none drawn
    expect(parseGraph({ items: g.items, edges: g.edges })!.learning).toEqual([]);
  });

  it('a large model keeps its first items as it made them: an input made first is shown (it was cut: ensembles came first)', () => {
    const m = new Network({ label: 'many' });
    const input = m.node([1], { label: 'input' });
    const ens = Array.from({ length: 70 }, (_, k) => m.ensemble({ nNeurons: 5, dimensions: 1, label: `e${k}` }));
    m.connect(input, ens[0]!);
    m.node([0], { label: 'late' });
    const g = parseGraph(structureOf(m))!;
    expect(g.total).toBe(72);
    expect(g.items[0]).toMatchObject({ id: `n${input.id}`, label: 'input' });
    expect(g.items.map((i) => i.label)).not.toContain('late');
    expect(g.edges).toContainEqual([`n${input.id}`, `e${ens[0]!.id}`]);
  });

  it('a model with more objects than one reply holds still gets its diagram, which says it shows a part', () => {
    // 4,000 ensembles labelled with 300 characters each were 1.3 million characters of JSON: more than the
    // session sends as a value (1,000,000), so the cell showed no diagram at all
    const m = new Network({ label: 'big' });
    let prev = m.node(0, { label: 'in' });
    for (let i = 0; i < 4000; i++) {
      const e = m.ensemble({ nNeurons: 1, dimensions: 1, label: `${'x'.repeat(300)} ${i}` });
      m.connect(prev, e);
      prev = e;
    }
    const value = structureOf(m);
    expect(JSON.stringify(value).length).toBeLessThan(200_000);
    const g = parseGraph(value)!;
    expect(g.total).toBe(4001);
    expect(g.items.length).toBeLessThan(4001);
    expect(g.items.length).toBeGreaterThanOrEqual(60);
    expect(g.edges.length).toBe(g.items.length - 1);
    const svg = diagramSvg(g);
    expect(svg.match(/<rect /g)).toHaveLength(60);
    // the saved SVG is what the notebook shows: it says there is more
    expect(svg).toContain('first 60 of 4,001');
    expect(diagramSvg(parseGraph({ items: Array.from({ length: 70 }, (_, i) => ({ id: `n${i}` })), edges: [] })!)).toContain(
      'first 60 of 70',
    );
    expect(diagramSvg(parseGraph(squaring)!)).not.toContain('first');
  });

  it('keeps the SVG well-formed whatever the labels hold', () => {
    // JupyterLab shows an SVG as an <img> from encodeURIComponent(svg): half an emoji (a long label cut inside
    // it) threw there, and a control character made the image not load
    const labels = [`${'a'.repeat(18)}😀tail`, 'lone \uD800 half', 'bell\u0007 and \u0000', 'x'.repeat(100_000), 'ok'];
    const g = parseGraph({ items: labels.map((label, i) => ({ id: `n${i}`, kind: 'node', label })), edges: [] })!;
    const svg = diagramSvg(g);
    expect(() => encodeURIComponent(svg)).not.toThrow();
    expect(svg).not.toMatch(NOT_XML);
    expect(svg).toContain('a'.repeat(18));
    // a label of 100,000 characters is not written into the notebook whole
    expect(svg.length).toBeLessThan(10_000);
  });

  it('takes malformed structures without throwing, and draws what is valid', () => {
    const g = parseGraph({
      items: [
        { id: 'a', kind: 'ensemble', label: 'a', neurons: 10 },
        { id: 'a', kind: 'ensemble', label: 'again', neurons: 5 },
        { id: 'b', kind: 'ensemble', neurons: Number.NaN },
        { id: 'c', kind: 'strange', label: 7, neurons: -3 },
        5,
        null,
        { id: 3 },
        [],
      ],
      edges: [['a', 'b'], 'x', null, ['a'], ['a', 'b', 'c'], [1, 2], ['b', 'c']],
      total: 'many',
    })!;
    expect(g.items.map((i) => [i.id, i.label, i.neurons])).toEqual([
      ['a', 'a', 10],
      ['b', 'b', 0],
      ['c', 'c', 0],
    ]);
    expect(g.total).toBe(3);
    expect(g.edges).toEqual([
      ['a', 'b'],
      ['b', 'c'],
    ]);
    const svg = diagramSvg(g);
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg).not.toContain('NaN');
    expect(parseGraph({ items: 'x', edges: [] })).toBeNull();
    expect(parseGraph([])).toBeNull();
  });

  it('wraps a column of many boxes into several, so a model of unconnected parts stays readable', () => {
    // 60 boxes without connections were one column 3,820 pixels high
    const g = parseGraph({ items: Array.from({ length: 60 }, (_, i) => ({ id: `n${i}`, kind: 'node' })), edges: [] })!;
    const svg = diagramSvg(g);
    const height = Number(/height="(\d+)"/.exec(svg)![1]);
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    expect(height).toBeLessThan(1000);
    // every box inside the picture
    for (const m of svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"/g)) {
      expect(Number(m[1]) + Number(m[3])).toBeLessThanOrEqual(width);
      expect(Number(m[2]) + Number(m[4])).toBeLessThanOrEqual(height);
    }
    // a chain keeps its columns in order: inputs left of what they feed
    const chain = diagramSvg(parseGraph(squaring)!);
    const xs = [...chain.matchAll(/<rect x="(\d+)"/g)].map((m) => Number(m[1]));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    expect(new Set(xs).size).toBe(3);
  });

  it('fits wide labels and large counts in their box', () => {
    // 19 capitals or CJK characters, and '12,000 neurons (subnetwork)', ran past the box's 150 pixels into the next
    const g = parseGraph({
      items: [
        { id: 'a', kind: 'ensemble', label: 'MMMMMMMMMMMMMMMMMMMM', neurons: 10 },
        { id: 'b', kind: 'ensemble', label: '積分器のフィードバック接続を持つ集団', neurons: 10 },
        { id: 'c', kind: 'network', label: 'sub', neurons: 12_000 },
        { id: 'd', kind: 'ensemble', label: 'short', neurons: 10 },
      ],
      edges: [],
    })!;
    const texts = [...diagramSvg(g).matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)].map((m) => ({ attrs: m[1], text: m[2] }));
    const squeezed = (t: string) => texts.find((x) => x.text === t)!.attrs.includes('textLength');
    expect(squeezed('MMMMMMMMMMMMMMMMMMMM')).toBe(true);
    expect(squeezed('積分器のフィードバック接続を持つ集団')).toBe(true);
    expect(squeezed('12,000 neurons (subnetwork)')).toBe(true);
    expect(squeezed('short')).toBe(false);
    expect(squeezed('10 neurons')).toBe(false);
  });
});
