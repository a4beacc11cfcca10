/** Probe names (probes.h5 datasets, npz keys, CSV files, the service's probe requests) from labels. */
import { describe, expect, it } from 'vitest';
import { probeNames } from '../src/runs/store-format.js';

describe('probeNames', () => {
  it("a label that needs no change keeps it, also after a changed label that becomes the same ('x/y' beside 'x_y')", () => {
    expect(probeNames(['x/y', 'x.y', 'x_y'])).toEqual(['x_y_2', 'x_y_3', 'x_y']);
  });

  it('repeated labels after the first, and unlabelled probes, take the next free name', () => {
    expect(probeNames(['a', 'a', undefined, 'probe2', ''])).toEqual(['a', 'a_2', 'probe2_2', 'probe2', 'probe4']);
    expect(probeNames(['s', 's_2', 's'])).toEqual(['s', 's_2', 's_3']);
  });

  it('a NUL in a label becomes _ (HDF5 cut the name there, and a probe a\\0b beside a probe a failed the run)', () => {
    expect(probeNames(['a\0b', 'a'])).toEqual(['a_b', 'a']);
  });
});
