#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with Node's built-in test runner.
// Node 20 does not expand globs for --test, so the file list is collected here.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const filters = process.argv.slice(2);
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
}
walk(join(dist, 'src'));
walk(join(dist, 'test'));
const chosen = filters.length ? files.filter((f) => filters.some((s) => relative(root, f).includes(s))) : files;
if (chosen.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-reporter=spec', ...chosen], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);
