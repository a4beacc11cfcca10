#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
// The nefsim command line; see `nefsim --help`.
import { main } from '../lib/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`nefsim: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
