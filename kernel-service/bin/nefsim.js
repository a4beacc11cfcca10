#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
// The nefsim command line; see `nefsim --help`.
import { main } from '../lib/cli/main.js';

let settled = false;
// Node exits when nothing is left to wait for, also while a promise is pending that nothing can
// settle any more (a model's top-level await, or the promise its default export returns): that is
// a failure, not a quiet exit 0 with no run.
process.on('beforeExit', () => {
  if (settled) return;
  console.error(
    'nefsim: stopped with the command unfinished: it waited on a promise that nothing can settle any more ' +
      "(a model's top-level await, or the promise its default export returns, that never resolves)",
  );
  process.exit(1);
});
main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (err) => {
    settled = true;
    console.error(`nefsim: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
