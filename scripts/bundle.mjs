// Bundles the compiled CLI (dist/src/cli/main.js, from tsc) into one CommonJS file,
// dist/kiln.cjs, that bin/kiln.js runs through vm.Script with a V8 code cache
// (docs/design/startup.md). Why: Node's ESM loader resolves, reads and compiles ~170 modules one
// by one (~70 ms of a 0.2 s cached rebuild); one file cuts most of that, and the code cache
// (Node 20 has no module.enableCompileCache) another ~30 ms of parsing and compiling.
// bin/kiln.js runs the bundle only when it is newer than dist/src/cli/main.js, so a plain `tsc`
// never leaves a stale bundle in use. Kept external: fs-xattr (a native addon). The layer
// worker thread keeps running from dist/src/layer/worker.js (KILN_WORKER_PATH below).
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// code caches of an earlier bundle (bin/kiln.js also keys them by the bundle's size and mtime)
for (const f of readdirSync(dist)) if (/^kiln\.cjs\..*\.cache$|^kiln\.mjs$/.test(f)) rmSync(join(dist, f), { force: true });
await build({
  entryPoints: [join(dist, 'src/cli/main.js')],
  outfile: join(dist, 'kiln.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['fs-xattr'],
  define: { KILN_WORKER_PATH: JSON.stringify('./src/layer/worker.js'), 'import.meta.url': '__kilnUrl' },
  banner: { js: "const __kilnUrl = require('node:url').pathToFileURL(__filename).href;" },
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
});
