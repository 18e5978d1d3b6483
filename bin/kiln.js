#!/usr/bin/env node
// kiln CLI entry: runs the compiled TypeScript in dist/ (npm run build).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`kiln: internal error: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
