// The one-file CLI (dist/kiln.cjs, made by scripts/bundle.mjs in `npm test`, `npm run build`
// and `npm run bench`): bin/kiln.js runs it when it is fresh, with a V8 code cache beside it, and
// it does real work (a build with a RUN step and an export), not only --help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKiln, PROJECT_ROOT } from './helpers/cli.js';
import { prereq, isRoot, which } from './helpers/prereq.js';
import { busyboxStore } from './helpers/kiln-image.js';
import { haveBusybox } from './helpers/busybox-rootfs.js';

const bundle = join(PROJECT_ROOT, 'dist', 'kiln.cjs');
const mainJs = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
const fresh = existsSync(bundle) && statSync(bundle).mtimeMs >= statSync(mainJs).mtimeMs;
/**
 * A private copy of the installed CLI (bin/kiln.js and the bundle; the rest linked), so this
 * file's code cache is its own: other test files' kiln runs write the shared one concurrently.
 */
function privateInstall(): { dir: string; bin: string; cacheOf: () => string } {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bundle-install-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist'));
  copyFileSync(join(PROJECT_ROOT, 'bin', 'kiln.js'), join(dir, 'bin', 'kiln.js'));
  copyFileSync(join(PROJECT_ROOT, 'package.json'), join(dir, 'package.json'));
  copyFileSync(bundle, join(dir, 'dist', 'kiln.cjs'));
  for (const link of ['node_modules', 'native', 'dist/src']) symlinkSync(join(PROJECT_ROOT, link), join(dir, link));
  const copy = join(dir, 'dist', 'kiln.cjs');
  return {
    dir,
    bin: join(dir, 'bin', 'kiln.js'),
    cacheOf: () => {
      const st = statSync(copy);
      return `${copy}.${st.size}-${Math.trunc(st.mtimeMs)}.cache`;
    },
  };
}

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
  const inst = privateInstall();
  try {
    const cache = inst.cacheOf();
    const r1 = await runKiln(['version'], { bin: inst.bin });
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /^code bundle$/m);
    assert.ok(existsSync(cache), `${cache} written`);
    assert.ok(statSync(cache).size > 10_000, 'it holds compiled code');
    writeFileSync(cache, 'not a code cache');
    const r2 = await runKiln(['version'], { bin: inst.bin });
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /^code bundle$/m);
    assert.notEqual(readFileSync(cache, 'utf8').slice(0, 16), 'not a code cache', 'the rejected cache was rewritten');
    // a cache in the right format whose V8 data V8 rejects (another V8, a corrupt file) too
    writeFileSync(cache, 'kiln-code-cache\tcmd:version\nnot V8 data');
    const r3 = await runKiln(['version'], { bin: inst.bin });
    assert.equal(r3.code, 0, r3.stderr);
    assert.ok(statSync(cache).size > 10_000, 'the rejected V8 data was replaced');
  } finally {
    rmSync(inst.dir, { recursive: true, force: true });
  }
});

/** The code paths a code cache file says it holds (its header line). */
function cacheTags(cache: string): string[] {
  const head = readFileSync(cache).subarray(0, 4096).toString('latin1');
  const m = /^kiln-code-cache\t([^\n]*)\n/.exec(head);
  assert.ok(m, `${cache} starts with its header line`);
  return m[1]!.split(' ').filter(Boolean);
}

test('the code cache grows with the code paths commands run, and is left alone once it has them', async (t) => {
  if (!prereq(t, fresh && isRoot && which('runc') !== undefined && haveBusybox(), `${missing}, root, runc and busybox-static`)) return;
  const inst = privateInstall();
  const { work, root } = await busyboxStore('kiln-bundle-cache-');
  try {
    const cache = inst.cacheOf();
    const v = await runKiln(['version'], { bin: inst.bin });
    assert.equal(v.code, 0, v.stderr);
    assert.deepEqual(cacheTags(cache), ['cmd:version']);
    const small = statSync(cache).size;
    const ctx = join(work, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo hi > /hi.txt\n');
    const opts = { env: { KILN_ROOT: root }, bin: inst.bin };
    const b1 = await runKiln(['build', '--progress', 'quiet', ctx], opts);
    assert.equal(b1.code, 0, b1.stderr);
    const tags = cacheTags(cache);
    for (const tag of ['cmd:version', 'cmd:build', 'step:run:miss']) assert.ok(tags.includes(tag), `${tag} in ${tags.join(' ')}`);
    assert.ok(!tags.includes('step:run:hit'), 'no cached step ran yet');
    assert.ok(statSync(cache).size > small, 'the build added the functions it compiled');
    // a rebuild answers from the build cache: a new code path, so the cache is rewritten once
    const b2 = await runKiln(['build', '--progress', 'quiet', ctx], opts);
    assert.equal(b2.code, 0, b2.stderr);
    assert.ok(cacheTags(cache).includes('step:run:hit'));
    const settled = statSync(cache).mtimeMs;
    const b3 = await runKiln(['build', '--progress', 'quiet', ctx], opts);
    assert.equal(b3.code, 0, b3.stderr);
    assert.equal(statSync(cache).mtimeMs, settled, 'nothing new ran: the cache was not rewritten');
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(inst.dir, { recursive: true, force: true });
  }
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
