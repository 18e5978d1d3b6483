// Bundles the compiled CLI (dist/src/cli/main.js, from tsc) into one ESM file, dist/kiln.mjs.
// Why: Node's ESM loader resolves, reads and compiles ~170 modules one by one (~70 ms of a
// 0.2 s cached rebuild); one file cuts most of that. bin/kiln.js runs the bundle only when it is
// newer than dist/src/cli/main.js, so a plain `tsc` never leaves a stale bundle in use.
// Kept external: fs-xattr (a native addon). The layer worker thread keeps running from
// dist/src/layer/worker.js (KILN_WORKER_PATH below, relative to the bundle).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'dist/src/cli/main.js')],
  outfile: join(root, 'dist/kiln.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['fs-xattr'],
  define: { KILN_WORKER_PATH: JSON.stringify('./src/layer/worker.js') },
  // commander is CommonJS: give the bundle a `require` for its node: imports
  banner: { js: "import { createRequire as __kilnRequire } from 'node:module'; const require = __kilnRequire(import.meta.url);" },
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
});
