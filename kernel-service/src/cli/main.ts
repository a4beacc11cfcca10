/**
 * The `nefsim` command line. Subcommands are added by the long-runs and
 * service work; this entry point parses the first word and dispatches.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { Network } from '../engine/network.js';
import { Simulator } from '../engine/simulator.js';
import { version } from '../version.js';

const HELP = `nefsim ${version}: Neural Engineering Framework simulator

Usage:
  nefsim summary MODEL.js [--dt S]   build the model and print what was built
  nefsim --version
  nefsim --help

MODEL.js is an ES module whose default export is a Network, or a function
(params) => Network.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    console.log(HELP);
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-v') {
    console.log(version);
    return 0;
  }
  if (cmd === 'summary') {
    const file = rest[0];
    if (!file) {
      console.error('nefsim summary: give the model file, e.g. nefsim summary examples/model.mjs');
      return 2;
    }
    const dtIdx = rest.indexOf('--dt');
    const dt = dtIdx >= 0 ? Number(rest[dtIdx + 1]) : 0.001;
    const net = await loadNetwork(file);
    const sim = new Simulator(net, { dt });
    console.log(JSON.stringify(sim.summary(), null, 2));
    return 0;
  }
  console.error(`nefsim: unknown command '${cmd}'. Run nefsim --help.`);
  return 2;
}

/** Imports a model module and returns its network (default export: a Network or a function returning one). */
export async function loadNetwork(file: string, params: Record<string, unknown> = {}): Promise<Network> {
  const url = pathToFileURL(resolve(file)).href;
  const mod = (await import(url)) as { default?: unknown };
  let value = mod.default;
  if (typeof value === 'function') value = await (value as (p: Record<string, unknown>) => unknown)(params);
  if (!(value instanceof Network)) {
    throw new Error(`${file}: the default export must be a Network or a function returning one (got ${value === undefined ? 'no default export' : typeof value})`);
  }
  return value;
}
