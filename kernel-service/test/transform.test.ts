/**
 * The cell transform (server/transform.ts): the last expression becomes the
 * cell's value, also when it is parenthesised (acorn keeps no parentheses,
 * so the expression starts after its '('), with or without a semicolon or a
 * trailing comment; top-level declarations become globals.
 */
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { mapPosition, transformCell } from '../src/server/transform.js';

async function value(source: string): Promise<unknown> {
  return (await runInNewContext(transformCell(source).code, {})) as unknown;
}

describe('transformCell', () => {
  it('returns the last expression, parenthesised or not', async () => {
    const cases: [string, unknown][] = [
      ['1 + 2', 3],
      ['(1 + 2)', 3],
      ['(1 + 2);', 3],
      ['(1 + 2) ; // the sum', 3],
      ['({ a: 1 })', { a: 1 }],
      ['(1) + 2', 3],
      ['((x) => x * 2)(4)', 8],
      ['(await Promise.resolve(3))', 3],
      ['const k = 2;\n(k * 3)', 6],
    ];
    for (const [source, expected] of cases) {
      expect(await value(source), source).toEqual(expected);
    }
  });

  it('a statement that is not an expression gives no value', async () => {
    expect(await value('const a = 1;')).toBeUndefined();
    expect(await value('if (true) { 5 }')).toBeUndefined();
  });

  it('maps an error in a parenthesised last expression back to its column', () => {
    const t = transformCell('const a = 1;\n(a + missing)');
    const line2 = t.code.split('\n')[1]!;
    const at = line2.indexOf('missing') + 1; // 1-based column in the transformed code
    expect(mapPosition(t, 2, at)).toEqual({ line: 2, column: 6 });
  });
});
