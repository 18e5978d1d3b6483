#!/usr/bin/env node
// kiln CLI entry. Runs the one-file bundle dist/kiln.cjs (scripts/bundle.mjs) with a V8 code
// cache when the bundle is at least as new as the tsc output it was made from, else the compiled
// modules in dist/src/ (npm run build makes both; a bare `tsc` refreshes only dist/src/).
// Why: start-up is most of a cached rebuild (docs/design/startup.md).
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const path = (rel) => fileURLToPath(new URL(rel, import.meta.url));
const stat = (p) => {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
};

/** The bundle's exports, compiled with (and, when there was none, leaving) a code cache. */
function loadBundle(file, st) {
  const source = readFileSync(file, 'utf8');
  // V8 checks a code cache against the source's length only: the name carries size and mtime
  const cacheFile = `${file}.${st.size}-${Math.trunc(st.mtimeMs)}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new vm.Script(wrapper, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  const saveCache = cachedData === undefined || script.cachedDataRejected === true
    ? () => {
        // after the command ran, so the functions it compiled are in the cache too; best effort
        // (an install dir may be read-only)
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        try {
          writeFileSync(tmp, script.createCachedData());
          renameSync(tmp, cacheFile);
        } catch {
          /* no cache: only slower */
        }
      }
    : () => {};
  return { main: module.exports.main, saveCache };
}

const bundle = path('../dist/kiln.cjs');
const bst = process.env.KILN_NO_BUNDLE === '1' ? undefined : stat(bundle);
const mst = stat(path('../dist/src/cli/main.js'));
const { main, saveCache } = bst && (!mst || bst.mtimeMs >= mst.mtimeMs)
  ? loadBundle(bundle, bst)
  : { main: (await import('../dist/src/cli/main.js')).main, saveCache: () => {} };

main(process.argv.slice(2)).then(
  (code) => {
    saveCache();
    process.exit(code);
  },
  (e) => {
    process.stderr.write(`kiln: internal error: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
  },
);
