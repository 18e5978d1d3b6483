// Runs every benchmark module next to this file (dist/bench/*.js except run.js): each exports
// `bench()` returning a JSON-able result, printed as one line. `npm run bench` runs this.
// Optional filter: node dist/bench/run.js parse
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const modules = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
let failed = false;
for (const f of modules) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { bench?: () => unknown };
  if (typeof mod.bench !== 'function') continue;
  try {
    console.log(JSON.stringify(await mod.bench()));
  } catch (e) {
    failed = true;
    console.log(JSON.stringify({ bench: f.replace(/\.js$/, ''), error: e instanceof Error ? e.message : String(e) }));
  }
}
process.exitCode = failed ? 1 : 0;
