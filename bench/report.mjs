// Turn the per-process result lines of one bench/run.sh run into a markdown
// table (printed and written to OUT.md) and a JSON file (OUT.json).
//
// Usage: node bench/report.mjs RAW.jsonl OUT SIM_SECONDS DT MODEL[,MODEL...]
//
// Each line of RAW.jsonl is what nengo_model.py / nefsim-model.mjs printed,
// or {engine, model, error} when that process failed, with the bench round
// it belongs to (`round`, from 1; run.sh --repeats). With several rounds,
// each cell is the median over the rounds whose process succeeded, each
// ratio the ratio of the two medians, and a second table lists the ratios
// round by round (the engines ran alternately, so a round's two figures
// share the machine's state of the moment).
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

const [rawPath, out, simSeconds, dt, modelList] = process.argv.slice(2);
const models = modelList.split(',');
const records = readFileSync(rawPath, 'utf8')
  .split('\n')
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line));

const KEYS = ['build_s', 'steps_per_s', 'warm_steps_per_s', 'peak_rss_mb'];
const rounds = Math.max(1, ...records.map((r) => r.round ?? 1));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * One engine's figures for a model (its first builds and runs, or with
 * `cached` its --build-only builds): the medians over the rounds that
 * succeeded, or the first error if none did; undefined if it never ran.
 */
function summary(engine, model, cached) {
  const rs = records.filter((r) => r.engine === engine && r.model === model && !!r.build_only === cached);
  const ok = rs.filter((r) => !r.error);
  if (ok.length === 0) return rs[0];
  const out = { ...ok[0], rounds: ok.length };
  for (const key of KEYS) {
    const xs = ok.map((r) => r[key]).filter((x) => typeof x === 'number');
    out[key] = xs.length ? median(xs) : undefined;
  }
  return out;
}
const find = (engine, model) => summary(engine, model, false);
const findCached = (engine, model) => summary(engine, model, true);
/** The record of one round. */
const inRound = (engine, model, cached, round) =>
  records.find((r) => r.engine === engine && r.model === model && !!r.build_only === cached && (r.round ?? 1) === round && !r.error);
const nengoVersion = records.find((r) => r.engine === 'nengo' && r.version)?.version;

const sig = (x) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));
const fmt = {
  build_s: (x) => (x === undefined ? '–' : sig(x)),
  steps_per_s: (x) => (x === undefined ? '–' : x.toFixed(0)),
  warm_steps_per_s: (x) => (x === undefined ? '–' : x.toFixed(0)),
  peak_rss_mb: (x) => (x === undefined ? '–' : x.toFixed(1)),
};
const cell = (r, key) => {
  if (!r) return '–';
  if (r.error) return key === 'build_s' ? `error: ${r.error.replace(/\|/g, '\\|')}` : '–';
  return fmt[key](r[key]);
};
const ratioFmt = (x) => (x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2));
const ratio = (nengo, nefsim, key) =>
  nengo && nefsim && !nengo.error && !nefsim.error && nengo[key] !== undefined && nefsim[key] !== undefined
    ? ratioFmt(nefsim[key] / nengo[key])
    : '–';

const rows = models.map((model) => {
  const nengo = find('nengo', model);
  const nefsim = find('nefsim', model);
  const counts = [nengo?.neurons, nefsim?.neurons].filter((n) => n != null);
  let neurons = counts.length ? String(counts[0]) : '–';
  if (counts.length === 2 && counts[0] !== counts[1]) neurons += ` (nefsim ${counts[1]})`;
  const cells = [model, neurons];
  for (const key of KEYS) {
    cells.push(cell(nengo, key), cell(nefsim, key), ratio(nengo, nefsim, key));
    if (key === 'build_s') {
      const [cn, cf] = [findCached('nengo', model), findCached('nefsim', model)];
      cells.push(cell(cn, key), cell(cf, key), ratio(cn, cf, key));
    }
  }
  return `| ${cells.join(' | ')} |`;
});

// With several rounds: each round's ratios, so that the spread shows.
const roundRows = models.map((model) => {
  const perRound = (cached, key) => {
    const xs = [];
    for (let r = 1; r <= rounds; r++) xs.push(ratio(inRound('nengo', model, cached, r), inRound('nefsim', model, cached, r), key));
    return xs.join(', ');
  };
  return `| ${model} | ${perRound(false, 'build_s')} | ${perRound(true, 'build_s')} | ${perRound(false, 'steps_per_s')} | ${perRound(false, 'warm_steps_per_s')} | ${perRound(false, 'peak_rss_mb')} |`;
});

const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const cpu = `${cpus()[0]?.model ?? 'unknown CPU'} ×${cpus().length}`;
const float32 = records.some((r) => r.engine === 'nefsim' && r.float32);
const nodeFlags = records.find((r) => r.engine === 'nefsim' && Array.isArray(r.node_flags))?.node_flags ?? [];
const table = [
  `nefsim${float32 ? ' (float32)' : ''} vs Nengo${nengoVersion ? ` ${nengoVersion}` : ''} reference simulator — ` +
    `${simSeconds} s simulated, dt ${dt}; ${date}; ${cpu}; Node ${process.version}` +
    (nodeFlags.length ? ` (nefsim: node ${nodeFlags.join(' ')})` : " (nefsim: Node's default flags)") +
    (rounds > 1 ? `; medians of ${rounds} rounds` : ''),
  '',
  '| model | neurons | build s: nengo | nefsim | ratio | cached build s: nengo | nefsim | ratio | steps/s: nengo | nefsim | ratio | warm steps/s: nengo | nefsim | ratio | peak RSS MB: nengo | nefsim | ratio |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows,
  '',
  'ratio = nefsim ÷ nengo (build s and RSS: below 1 favours nefsim; steps/s: above 1 favours nefsim).',
  'build s: the first build, decoder caches empty; cached build s: a second build in a new process, each engine finding its decoders in its decoder cache.',
  'steps/s: the first run of the simulated time after the build (start-up included); warm steps/s: the same number of steps again.',
  '',
  ...(rounds > 1
    ? [
        `Ratios round by round (nefsim ÷ nengo, rounds 1-${rounds}; the engines ran alternately):`,
        '',
        '| model | build | cached build | steps/s | warm steps/s | peak RSS |',
        '| --- | --- | --- | --- | --- | --- |',
        ...roundRows,
        '',
      ]
    : []),
].join('\n');

process.stdout.write(table);
writeFileSync(`${out}.md`, table);
writeFileSync(
  `${out}.json`,
  JSON.stringify(
    { date, sim_seconds: Number(simSeconds), dt: Number(dt), cpu, node: process.version, rounds, models, results: records },
    null,
    2,
  ) + '\n',
);
