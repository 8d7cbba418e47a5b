#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli.js (built by `npm run build`).
import('../dist/cli.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
