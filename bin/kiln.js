#!/usr/bin/env node
// kiln CLI entry. Runs the one-file bundle dist/kiln.cjs (scripts/bundle.mjs) with a V8 code
// cache when the bundle is at least as new as the tsc output it was made from, else the compiled
// modules in dist/src/ (npm run build makes both; a bare `tsc` refreshes only dist/src/).
// Why: start-up is most of a cached rebuild (docs/design/startup.md).
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';

// V8 drops the bytecode of functions it has not run for a while; a cache written after a long
// build would then miss the start-up code that ran first
v8.setFlagsFromString('--no-flush-bytecode');

const path = (rel) => fileURLToPath(new URL(rel, import.meta.url));
const stat = (p) => {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
};

const HEADER = 'kiln-code-cache\t';

/**
 * The code cache file: a header line naming the code paths (src/support/code-paths.ts) whose
 * functions it holds, then V8's data. Undefined when there is none or it is not ours.
 */
function readCache(cacheFile) {
  let buf;
  try {
    buf = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const nl = buf.indexOf(10);
  if (nl < 0 || buf.toString('latin1', 0, HEADER.length) !== HEADER) return undefined;
  const tags = buf.toString('utf8', HEADER.length, nl).split(' ').filter(Boolean);
  return { tags: new Set(tags), data: buf.subarray(nl + 1) };
}

/**
 * The bundle's exports, compiled with its code cache. The cache is (re)written after a command
 * that ran a code path the cache has not seen: it then holds every function that command
 * compiled, on top of those it was loaded with, so after a few different commands it covers
 * what kiln runs (a cache written by `kiln version` alone holds little of `kiln build`).
 */
function loadBundle(file, st) {
  const source = readFileSync(file, 'utf8');
  // V8 checks a code cache against the source's length only: the name carries size and mtime
  const cacheFile = `${file}.${st.size}-${Math.trunc(st.mtimeMs)}.cache`;
  const cached = readCache(cacheFile);
  const wrapper = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  const script = new vm.Script(wrapper, { filename: file, ...(cached ? { cachedData: cached.data } : {}) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  const saveCache = () => {
    const ran = typeof module.exports.codePaths === 'function' ? module.exports.codePaths() : [];
    const usable = cached !== undefined && script.cachedDataRejected !== true;
    if (usable && ran.every((t) => cached.tags.has(t))) return;
    const tags = [...new Set([...(usable ? cached.tags : []), ...ran])].sort();
    // after the command ran, so the functions it compiled are in the cache too; best effort (an
    // install dir may be read-only); temp file + rename, so concurrent kilns never read half
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, Buffer.concat([Buffer.from(`${HEADER}${tags.join(' ')}\n`), script.createCachedData()]));
      renameSync(tmp, cacheFile);
    } catch {
      /* no cache: only slower */
    }
  };
  return { main: module.exports.main, saveCache };
}

const bundle = path('../dist/kiln.cjs');
const bst = process.env.KILN_NO_BUNDLE === '1' ? undefined : stat(bundle);
const mst = stat(path('../dist/src/cli/main.js'));
const { main, saveCache } = bst && (!mst || bst.mtimeMs >= mst.mtimeMs)
  ? loadBundle(bundle, bst)
  : { main: (await import('../dist/src/cli/main.js')).main, saveCache: () => {} };

/**
 * process.exit, once stdout and stderr have written what they hold: to a pipe whose reader is
 * slower than kiln (`kiln debug plan | jq`), Node queues what the pipe cannot take yet, and an
 * immediate exit dropped all but the first 64 KiB.
 */
function exitFlushed(code) {
  let pending = 1;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  for (const s of [process.stdout, process.stderr]) {
    if (s.writableLength > 0 && !s.destroyed) {
      pending++;
      // an empty write calls back after everything written before it; a reader gone away ends
      // it with an error (EPIPE), which is also the end of waiting
      s.write('', done);
    }
  }
  done();
}

main(process.argv.slice(2)).then(
  (code) => {
    saveCache();
    exitFlushed(code);
  },
  (e) => {
    process.stderr.write(`kiln: internal error: ${e && e.stack ? e.stack : e}\n`);
    exitFlushed(1);
  },
);
