import { describe, expect, it, vi } from 'vitest';
import type { NefsimClient } from '../client/client.js';
import type { NamedArray } from '../client/protocol.js';
import type { INotebookTracker } from '@jupyterlab/notebook';
import { pointsPerTrace, fetchProbePlots, fetchTrialPlots, plotRunProbes } from '../runs/plots.js';
import { parsePlotSpec, sourceTraceName, tracesFromFetch, type PlotSpec } from '../plot/data.js';

vi.mock('@jupyterlab/apputils', () => ({ Notification: {} }));

const arr = (name: string, shape: number[], values: number[]): NamedArray => ({
  header: { id: 1, name, dtype: 'float64', shape },
  data: Float64Array.from(values),
});

/** A client that answers probe.list and probe.fetch (min/max of two buckets) for the probes given. */
function fakeClient(probes: Record<string, unknown>[], without: string[] = []): NefsimClient {
  const request = (type: string, params: { run?: string }) => {
    if (params.run !== undefined && without.includes(params.run)) return Promise.reject(new Error(`run '${params.run}' has no probes.h5`)); // the service's words
    if (type === 'probe.list') return Promise.resolve({ type, result: { probes }, arrays: [] });
    if (type === 'probe.fetch')
      return Promise.resolve({
        type,
        result: {},
        arrays: [
          arr('tStart', [2], [0.001, 1.001]),
          arr('tEnd', [2], [1, 2]),
          arr('min', [2, 2], [0, 1, 2, 3]),
          arr('max', [2, 2], [4, 5, 6, 7]),
        ],
      });
    return Promise.reject(new Error(`unexpected ${type}`));
  };
  return { request } as unknown as NefsimClient;
}

describe('probe plots', () => {
  it("names a zoom's finer traces as the plot's first ones (by the probe's label, not its name in probes.h5)", async () => {
    // a label with a '.' is stored as 'ens_decoded'; the plot's traces carry the label
    const client = fakeClient([{ name: 'ens_decoded', label: 'ens.decoded', shape: [2000, 2], sampleEvery: 0.001, layout: 'dense' }]);
    const [spec] = await fetchProbePlots(client, { run: 'r1' }, 'r1');
    expect(spec!.traces.map((t) => t.name)).toEqual(['ens.decoded[0]', 'ens.decoded[1]']);
    // saved in the notebook and read back, as the renderer reads it before it zooms
    const saved = parsePlotSpec(JSON.parse(JSON.stringify(spec))) as PlotSpec;
    expect(saved.source).toMatchObject({ run: 'r1', probe: 'ens_decoded', label: 'ens.decoded' });
    const zoomed = tracesFromFetch(sourceTraceName(saved.source!), [arr('t', [1], [0.5]), arr('y', [1, 2], [1, 2])], 100);
    expect(zoomed.map((t) => t.name)).toEqual(['ens.decoded[0]', 'ens.decoded[1]']);
    // a probe whose label is its name, or that has none: no label stored, the name is the traces'
    const [plain] = await fetchProbePlots(fakeClient([{ name: 'x', label: 'x', shape: [2000, 2], layout: 'dense' }]), { run: 'r1' }, 'r1');
    expect(plain!.source).not.toHaveProperty('label');
    expect(sourceTraceName(plain!.source!)).toBe('x');
  });

  it('tells apart the plots of probes with the same label', async () => {
    // probes.h5 names them out and out_2; both plots were titled 'out'
    const probes = [
      { name: 'out', label: 'out', shape: [2000, 2], layout: 'dense' },
      { name: 'out_2', label: 'out', shape: [2000, 2], layout: 'dense' },
      { name: 'other', label: 'other', shape: [2000, 2], layout: 'dense' },
    ];
    const specs = await fetchProbePlots(fakeClient(probes), { run: 'r1' }, 'r1');
    expect(specs.map((s) => s.title)).toEqual(['r1: out', 'r1: out_2', 'r1: other']);
    expect(specs[1]!.traces[0]!.name).toBe('out_2[0]');
    expect(sourceTraceName(specs[1]!.source!)).toBe('out_2');
  });

  it("counts in a batch's title the trials it draws, not those without data", async () => {
    const probes = [{ name: 'out', label: 'out', shape: [2000, 2], layout: 'dense' }];
    const trials = ['b/trial-0', 'b/trial-1', 'b/trial-2'];
    // cancelled while its first trial ran: the others never started
    const [spec] = await fetchTrialPlots(fakeClient(probes, ['b/trial-1', 'b/trial-2']), trials, 'b');
    expect(spec!.traces.map((t) => [t.name, t.trial])).toEqual([
      ['out[0]', 0],
      ['out[1]', 0],
    ]);
    expect(spec!.title).toBe('b: out — 1 of 3 trials');
    const [all] = await fetchTrialPlots(fakeClient(probes), trials, 'b');
    expect(all!.title).toBe('b: out — 3 trials');
  });

  it("shares out a batch overlay's buckets among its traces: 10 trials of a 16-dim probe saved about 7 MB", async () => {
    const asked: number[] = [];
    const base = fakeClient([{ name: 'x', label: 'x', shape: [20000, 16], layout: 'dense' }]);
    const client = {
      request: (type: string, params: { maxPoints?: number }) => {
        if (type === 'probe.fetch') asked.push(params.maxPoints!);
        return base.request(type as 'probe.list', params as never);
      },
    } as unknown as NefsimClient;
    const trials = Array.from({ length: 12 }, (_, i) => `b/trial-${i}`);
    await fetchTrialPlots(client, trials, 'b');
    // the first 10 trials, each 16 traces of 300 points (the floor; the budget, one run's 16 columns of 1,500
    // points, would give 150)
    expect(asked).toEqual(Array<number>(10).fill(300));
    asked.length = 0;
    await fetchProbePlots(client, { run: 'r' }, 'r');
    expect(asked).toEqual([1500]);
    // few traces keep the run's buckets; many keep a floor
    expect(pointsPerTrace(10, 1)).toBe(1500);
    expect(pointsPerTrace(10, 2)).toBe(1200);
    expect(pointsPerTrace(10, 4)).toBe(600);
    expect(pointsPerTrace(1, 16)).toBe(1500);
    expect(pointsPerTrace(100, 16)).toBe(300);
    expect(pointsPerTrace(5, 16)).toBe(300);
    expect(pointsPerTrace(2, 16)).toBe(750);
  });

  it("says why when none of a batch's trials has data (cancelled before any started), not that the run has no probes", async () => {
    // a Slurm batch cancelled while its job array was pending: Plot probes said 'run b has no probes'
    const probes = [{ name: 'out', label: 'out', shape: [2000, 2], layout: 'dense' }];
    const trials = ['b/trial-0', 'b/trial-1'];
    await expect(fetchTrialPlots(fakeClient(probes, trials), trials, 'b')).rejects.toThrow(
      'none of its 2 trials has data (trial-0 has no probes.h5)',
    );
    // a model without probes still plots nothing, as before
    expect(await fetchTrialPlots(fakeClient([]), trials, 'b')).toEqual([]);
  });

  it('says why a batch that never made its folder has no plots (it said it "has no probes")', async () => {
    // run.list's record of a batch cancelled, or failed, in the service's queue: no trials
    const tracker = { currentWidget: {} } as unknown as INotebookTracker;
    const client = fakeClient([]);
    await expect(plotRunProbes(client, tracker, { run: 'sw', kind: 'batch', state: 'cancelled', steps: 0 })).rejects.toThrow(
      'sw has no data: it was cancelled before it started',
    );
    await expect(
      plotRunProbes(client, tracker, { run: 'sw', kind: 'batch', state: 'failed', steps: 0, error: 'no such module' }),
    ).rejects.toThrow('sw has no data: it failed before it started (no such module)');
  });
});
