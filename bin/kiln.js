#!/usr/bin/env node
// kiln CLI entry. Runs the one-file bundle dist/kiln.mjs (scripts/bundle.mjs: faster start-up)
// when it is at least as new as the tsc output it was made from, else the compiled modules in
// dist/src/ (npm run build makes both; a bare `tsc` refreshes only dist/src/).
import { statSync } from 'node:fs';

const mtime = (rel) => {
  try {
    return statSync(new URL(rel, import.meta.url)).mtimeMs;
  } catch {
    return -1;
  }
};
const bundled = process.env.KILN_NO_BUNDLE !== '1' && mtime('../dist/kiln.mjs') >= mtime('../dist/src/cli/main.js');
const { main } = await import(bundled ? '../dist/kiln.mjs' : '../dist/src/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`kiln: internal error: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
