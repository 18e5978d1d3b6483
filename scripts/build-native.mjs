// Builds kiln's optional native helper, native/kiln_sys.c -> native/build/kiln_sys.node (mount(2)
// and umount2(2) without spawning mount(8); see native/README.md). Run by `npm run build`,
// `npm test` and `npm run bench`; quick when the addon is newer than its source.
//
// A Node-API addon needs no linking against node and no node-gyp (which would try to download
// headers from nodejs.org, unreachable here): one `cc -shared` against the headers that ship
// with node (<prefix>/include/node). When there is no compiler or no headers, this says so and
// exits 0: kiln then spawns mount(8)/umount(8) as before. Under CI=true the test suite fails
// instead (src/snapshot/sys.test.ts), so CI never measures the fallback by accident.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native', 'kiln_sys.c');
const outDir = join(root, 'native', 'build');
const out = join(outDir, 'kiln_sys.node');

const mtime = (p) => statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? -1;
if (mtime(out) >= mtime(src) && mtime(out) >= mtime(fileURLToPath(import.meta.url))) process.exit(0);

/** The directory holding node_api.h for the running node. */
function headers() {
  const prefixes = [join(dirname(process.execPath), '..'), process.config.variables?.node_prefix].filter(Boolean);
  for (const p of prefixes) {
    const dir = join(p, 'include', 'node');
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  }
  return undefined;
}

const warn = (why) => {
  process.stderr.write(`[build-native] ${why}: kiln will spawn mount(8)/umount(8) instead (slower per step)\n`);
  process.exit(0);
};

const inc = headers();
if (inc === undefined) warn(`no node_api.h next to ${process.execPath} (the Node.js headers)`);
mkdirSync(outDir, { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
const cc = process.env.CC || 'cc';
const r = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', '-D_GNU_SOURCE', '-DNAPI_VERSION=8', `-I${inc}`, '-o', tmp, src], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
if (r.error || r.status !== 0) {
  rmSync(tmp, { force: true });
  warn(r.error ? `cannot run ${cc} (${r.error.message})` : `${cc} failed on native/kiln_sys.c`);
}
renameSync(tmp, out);
process.stderr.write(`[build-native] built ${join('native', 'build', 'kiln_sys.node')}\n`);
