// The one-file CLI (dist/kiln.cjs, made by scripts/bundle.mjs in `npm test`, `npm run build`
// and `npm run bench`): bin/kiln.js runs it when it is fresh, with a V8 code cache beside it, and
// it does real work (a build with a RUN step and an export), not only --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runKiln, PROJECT_ROOT } from './helpers/cli.js';
import { prereq, isRoot, which } from './helpers/prereq.js';
import { busyboxStore } from './helpers/kiln-image.js';
import { haveBusybox } from './helpers/busybox-rootfs.js';

const bundle = join(PROJECT_ROOT, 'dist', 'kiln.cjs');
const mainJs = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
const fresh = existsSync(bundle) && statSync(bundle).mtimeMs >= statSync(mainJs).mtimeMs;
const missing = 'a fresh dist/kiln.cjs (npm test and npm run build make it: node scripts/bundle.mjs after tsc)';

test('bin/kiln.js runs the bundle when it is fresh, the dist/src modules with KILN_NO_BUNDLE=1', async (t) => {
  if (!prereq(t, fresh, missing)) return;
  const b = await runKiln(['version']);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /^code bundle$/m);
  const m = await runKiln(['version'], { env: { KILN_NO_BUNDLE: '1' } });
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /^code modules$/m);
});

test('the code cache is written after a run, and a broken one is replaced without harm', async (t) => {
  if (!prereq(t, fresh, missing)) return;
  const st = statSync(bundle);
  const cache = `${bundle}.${st.size}-${Math.trunc(st.mtimeMs)}.cache`;
  rmSync(cache, { force: true });
  const r1 = await runKiln(['version']);
  assert.equal(r1.code, 0, r1.stderr);
  assert.ok(existsSync(cache), `${cache} written`);
  assert.ok(statSync(cache).size > 10_000, 'it holds compiled code');
  writeFileSync(cache, 'not a code cache');
  const r2 = await runKiln(['version']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /^code bundle$/m);
  assert.notEqual(readFileSync(cache, 'utf8').slice(0, 16), 'not a code cache', 'the rejected cache was rewritten');
});

test('the bundle builds a two-stage Dockerfile with a RUN step and exports its files', async (t) => {
  if (!prereq(t, fresh && isRoot && which('runc') !== undefined && haveBusybox(), `${missing}, root, runc and busybox-static`)) return;
  const { work, root } = await busyboxStore('kiln-bundle-test-');
  try {
    const ctx = join(work, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'in.txt'), 'from the context\n');
    writeFileSync(
      join(ctx, 'Dockerfile'),
      'FROM busybox AS build\nCOPY in.txt /in.txt\nRUN cat /in.txt > /out.txt && echo ran >> /out.txt\n' +
        'FROM scratch\nCOPY --from=build /out.txt /result.txt\n',
    );
    const out = join(work, 'out');
    const r = await runKiln(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx], { env: { KILN_ROOT: root } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out), ['result.txt']);
    assert.equal(readFileSync(join(out, 'result.txt'), 'utf8'), 'from the context\nran\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the bundle keeps function names, so an internal error\'s stack trace stays readable', (t) => {
  if (!prereq(t, fresh, missing)) return;
  assert.match(readFileSync(bundle, 'utf8'), /function planBuild\(/);
});
