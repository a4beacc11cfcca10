/**
 * The `nefsim` command line. Subcommands are added by the long-runs and
 * service work; this entry point parses the first word and dispatches.
 */
import type { Network } from '../engine/network.js';
import { loadModel, ModelError } from '../runs/model.js';
import { version } from '../version.js';
import {
  batchCommand,
  cancelCommand,
  executeCommand,
  exportCommand,
  runCommand,
  statusCommand,
  summaryCommand,
  UsageError,
  workerCommand,
} from './runs.js';

const HELP = `nefsim ${version}: Neural Engineering Framework simulator

Usage:
  nefsim summary MODEL.js [--dt S]   build the model and print what was built
  nefsim run MODEL.js [--duration S] [--dt S] [--seed N] [--params P.json]
                     [--partitions P] [--pin PINS.json] [--dtype float64|float32]
                     [--trials N | --sweep PARAMS.json] [--jobs J] [--process-per-trial]
                     [--executor local|slurm] [--slurm-partition P] [--slurm-time T]
                     [--slurm-account A] [--sbatch-arg ARG]...
                     [--out DIR] [--force] [--detach]
                                     run the model in a run folder (default
                                     runs/<model>-<time>; duration 1 s, dt 0.001);
                                     --partitions: the network on P worker threads;
                                     --dtype float32: single-precision state (faster
                                     on large models);
                                     --trials: N runs with seeds seed, seed+1, ...;
                                     --sweep: one run per parameter object; J at
                                     a time (default: cores / partitions), in J worker
                                     processes that run them one after another
                                     (--process-per-trial: a fresh process each);
                                     --executor slurm: sbatch (a job array for
                                     trials), status via squeue, cancel via scancel
  nefsim status DIR [--json] [--stale S]
                                     state and progress of a run (a run whose
                                     heartbeat is older than S seconds, default 5,
                                     and whose process is gone is reported failed)
  nefsim cancel DIR [--timeout S]    stop a run or every trial of a batch, waiting
                                     up to S seconds (default 30) for it to end
  nefsim serve [--port P] [--token-file F] [--runs-dir D] [--max-concurrent-runs N]
                                     start the simulation service (nefsim serve --help)
  nefsim export DIR [--format npz|csv] [--out PATH] [--force]
                                     probes.h5 of a run (or of each trial) as
                                     NumPy .npz (default DIR/probes.npz) or CSV
                                     (default DIR/csv/); spikes also dense
  nefsim --version
  nefsim --help

MODEL.js is an ES module whose default export is a Network, or a function
(params) => Network. Its 'import ... from "nefsim"' resolves to this nefsim
wherever the file is. --detach starts the run in its own process group,
prints the run folder and returns; the run goes on after the shell ends.`;

/** The usage of one subcommand (its lines of HELP, and the notes on model files), or undefined for another word. */
/** For bin/nefsim.js: a run's model load that could never settle is being recorded as failed (see load-watch.ts). */
export { loadStallCaught } from '../runs/load-watch.js';
export { modelsLoading } from '../runs/model.js';

export function helpFor(cmd: string): string | undefined {
  if (!['summary', 'run', 'status', 'cancel', 'export'].includes(cmd)) return undefined;
  const lines = HELP.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`  nefsim ${cmd} `));
  let end = start + 1;
  while (end < lines.length && lines[end]!.startsWith('    ') && !lines[end]!.startsWith('  nefsim')) end++;
  // the notes on model files; the one on --detach is run's only
  const models = HELP.slice(HELP.indexOf('MODEL.js is an ES module'));
  const notes = cmd === 'run' ? `\n\n${models}` : cmd === 'summary' ? `\n\n${models.slice(0, models.indexOf(' --detach'))}` : '';
  return `Usage:\n${lines.slice(start, end).join('\n')}${notes}\n\nSee the README's "Runs" section for the run folder and every option.`;
}

export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    if (err instanceof ModelError) {
      console.error(`nefsim: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    console.log(version);
    return 0;
  }
  const sub = helpFor(cmd);
  if (sub !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(sub);
    return 0;
  }
  if (cmd === 'summary') return summaryCommand(rest);
  if (cmd === 'run') return runCommand(rest, argv);
  if (cmd === 'status') return statusCommand(rest);
  if (cmd === 'cancel') return cancelCommand(rest);
  if (cmd === 'export') return exportCommand(rest);
  if (cmd === '_execute') return executeCommand(rest);
  if (cmd === 'serve') return (await import('../server/serve.js')).serveCommand(rest);
  if (cmd === '_batch') return batchCommand(rest);
  if (cmd === '_worker') return workerCommand(rest);
  console.error(`nefsim: unknown command '${cmd}'. Run nefsim --help.`);
  return 2;
}

/** Imports a model module and returns its network (default export: a Network or a function returning one). */
export async function loadNetwork(file: string, params: Record<string, unknown> = {}): Promise<Network> {
  return loadModel(file, params);
}
