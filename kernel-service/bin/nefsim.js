#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
// The nefsim command line; see `nefsim --help`.
import { loadStallCaught, main, modelsLoading } from '../lib/cli/main.js';

let settled = false;
// Node exits when nothing is left to wait for, also while a promise is pending that nothing can
// settle any more (a model's top-level await, or the promise its default export returns): that is
// a failure, not a quiet exit 0 with no run.
process.on('beforeExit', () => {
  // a run's load watcher caught it, and records the run's end before the command settles
  if (settled || loadStallCaught()) return;
  const models = modelsLoading();
  console.error(
    models.length > 0
      ? `nefsim: stopped with the command unfinished: ${models.join(', ')}: the model's load waits on a promise that nothing ` +
          'can settle any more (a top-level await, or the promise its default export returns, that never resolves)'
      : 'nefsim: stopped with the command unfinished: it waited on a promise that nothing can settle any more ' +
          "(a model's top-level await, or the promise its default export returns, that never resolves)",
  );
  process.exit(1);
});
const command = process.argv[2];
/** Exits once what went to stdout and stderr is written: a pipe takes 64 KB at once, and exit would drop the rest. */
function exitWhenWritten(code) {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
    // The command is over (a run recorded, a summary printed): what a model left behind (a timer, a
    // socket, a promise still waiting) must not keep the process, and a detached run's or a trial
    // worker's would linger unseen. The service ends when it is told to, and exits then.
    if (command !== 'serve') exitWhenWritten(code);
  },
  (err) => {
    settled = true;
    console.error(`nefsim: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
    if (command !== 'serve') exitWhenWritten(1);
  },
);
