import { describe, expect, it } from 'vitest';
import { diagramSvg, layers, parseGraph, STRUCTURE_CODE } from '../cells/diagram.js';

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
});
