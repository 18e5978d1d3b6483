// `kiln build --build-context NAME=VALUE` end to end (real CLI, runc, overlayfs, a busybox base):
// a directory for COPY --from / RUN --mount=from / FROM, docker-image:// and oci-layout:// bases,
// a named context replacing a stage of the same name, content-keyed caching, bad specs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { BusyboxSuite } from '../helpers/busybox-suite.js';

const suite = new BusyboxSuite('kiln-bctx-');

function tree(name: string, files: Record<string, string>): string {
  const dir = join(suite.work, name);
  mkdirSync(dir, { recursive: true });
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

const kiln = (args: string[]) => suite.kiln(args, { CI: undefined });

/** Builds `dockerfile` in a fresh context with `extra` args, exporting the rootfs; returns the output dir and stderr. */
async function buildOut(name: string, dockerfile: string, extra: string[]): Promise<{ out: string; stderr: string; ran: number; cached: number }> {
  const ctx = tree(`${name}-ctx`, { Dockerfile: dockerfile });
  const out = join(suite.work, `${name}-out`);
  const r = await kiln(['build', '--progress', 'plain', ...extra, '-o', `type=local,dest=${out}`, ctx]);
  assert.equal(r.code, 0, r.stderr);
  const m = /(\d+) steps ran, (\d+) cached/.exec(r.stderr);
  assert.ok(m, r.stderr);
  return { out, stderr: r.stderr, ran: Number(m[1]), cached: Number(m[2]) };
}

test('a directory context: COPY --from and RUN --mount=from read it, with its own .dockerignore', async (t) => {
  if (!suite.check(t)) return;
  const extra = tree('extra1', { f: 'from extra\n', 'sub/g': 'gee\n', 'secret.txt': 'hidden\n', '.dockerignore': 'secret.txt\n' });
  const { out } = await buildOut(
    'dir',
    [
      'FROM busybox',
      'COPY --from=extra /f /f',
      'COPY --from=extra / /all/',
      'RUN --mount=from=extra,target=/mnt cat /mnt/sub/g > /g && ls /mnt > /listing',
      '',
    ].join('\n'),
    ['--build-context', `extra=${extra}`],
  );
  assert.equal(readFileSync(join(out, 'f'), 'utf8'), 'from extra\n');
  assert.equal(readFileSync(join(out, 'all/sub/g'), 'utf8'), 'gee\n');
  assert.equal(existsSync(join(out, 'all/secret.txt')), false, 'the named context .dockerignore excludes secret.txt from COPY');
  assert.equal(readFileSync(join(out, 'g'), 'utf8'), 'gee\n');
  assert.doesNotMatch(readFileSync(join(out, 'listing'), 'utf8'), /secret\.txt/, 'and from the bind mount');
  // a path the context does not have: the error names the context
  const missing = tree('dir-missing', { Dockerfile: 'FROM busybox\nCOPY --from=extra /secret.txt /s\n' });
  const r = await kiln(['build', '--progress', 'plain', '--build-context', `extra=${extra}`, missing]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ERROR: Dockerfile:2: "\/secret\.txt": not found/);
  assert.match(r.stderr, /hint: check that the path exists in build context extra \(/);
});

test('a relative directory and FROM of a directory context (its files are the root filesystem)', async (t) => {
  if (!suite.check(t)) return;
  tree('rel/files', { 'etc/motd': 'hello from files\n' });
  const ctx = tree('fromdir-ctx', { Dockerfile: 'FROM busybox AS tools\nFROM files\nCOPY --from=tools /bin/busybox /bin/busybox\n' });
  const out = join(suite.work, 'fromdir-out');
  // relative to kiln's working directory, as buildx resolves it
  const r = await suite.kiln(['build', '--progress', 'plain', '--build-context', 'files=rel/files', '-o', `type=local,dest=${out}`, ctx], { CI: undefined }, suite.work);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /FROM context files/);
  assert.equal(readFileSync(join(out, 'etc/motd'), 'utf8'), 'hello from files\n');
  assert.ok(existsSync(join(out, 'bin/busybox')));
  assert.equal(existsSync(join(out, 'bin/sh')), false, 'nothing of busybox but what was copied');
});

test('docker-image:// replaces FROM NAME where no stage or image NAME exists', async (t) => {
  if (!suite.check(t)) return;
  const { out } = await buildOut('img', 'FROM base\nRUN echo built > /built\n', ['--build-context', 'base=docker-image://busybox']);
  assert.equal(readFileSync(join(out, 'built'), 'utf8'), 'built\n');
  assert.ok(existsSync(join(out, 'bin/busybox')));
  // without the context, `base` is an image nobody has
  const ctx = tree('img-missing', { Dockerfile: 'FROM base\n' });
  const r = await kiln(['build', '--progress', 'plain', '--pull=never', ctx]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /base: image not found/);
});

test('a named context overrides a stage of the same name: the stage never runs', async (t) => {
  if (!suite.check(t)) return;
  const deps = tree('deps', { 'lib/x': 'prebuilt\n' });
  const { out, stderr } = await buildOut(
    'override',
    ['FROM busybox AS deps', 'RUN echo "the deps stage ran" && exit 3', 'FROM busybox', 'COPY --from=deps /lib/x /x', ''].join('\n'),
    ['--build-context', `deps=${deps}`],
  );
  assert.doesNotMatch(stderr, /the deps stage ran/);
  assert.equal(readFileSync(join(out, 'x'), 'utf8'), 'prebuilt\n');
  // and an image context in place of a stage used as a base
  const r2 = await buildOut('override-img', ['FROM scratch AS base', 'FROM base', 'RUN echo ok > /ok', ''].join('\n'), ['--build-context', 'base=docker-image://busybox']);
  assert.equal(readFileSync(join(r2.out, 'ok'), 'utf8'), 'ok\n');
});

test('oci-layout:// loads the image from a layout written by kiln save --format oci-dir', async (t) => {
  if (!suite.check(t)) return;
  const layout = join(suite.work, 'layout');
  const s = await kiln(['save', '--format', 'oci-dir', '-o', layout, 'busybox']);
  assert.equal(s.code, 0, s.stderr);
  const { out, stderr } = await buildOut('oci', 'FROM base\nRUN echo from-layout > /l\n', ['--build-context', `base=oci-layout://${layout}`]);
  assert.equal(readFileSync(join(out, 'l'), 'utf8'), 'from-layout\n');
  assert.match(stderr, /FROM oci-layout:\/\//);
  // by digest too
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const digest = index.manifests[0]!.digest;
  const byDigest = await buildOut('oci-digest', 'FROM busybox\nCOPY --from=img /bin/busybox /copied\n', ['--build-context', `img=oci-layout://${layout}@${digest}`]);
  assert.ok(existsSync(join(byDigest.out, 'copied')));
  // a tag the layout does not have
  const ctx = tree('oci-badtag', { Dockerfile: 'FROM base\n' });
  const r = await kiln(['build', '--progress', 'plain', '--build-context', `base=oci-layout://${layout}:nope`, ctx]);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /no image tagged "nope"/);
});

test('cache: a changed file the COPY reads re-runs it, a change elsewhere in the context does not', async (t) => {
  if (!suite.check(t)) return;
  const extra = tree('extra-cache', { f: 'one\n', other: 'a\n' });
  const dockerfile = 'FROM busybox\nCOPY --from=extra /f /f\nRUN cat /f > /g\n';
  const args = ['--build-context', `extra=${extra}`];
  const first = await buildOut('cache', dockerfile, args);
  assert.equal(first.ran, 2);
  const again = await buildOut('cache', dockerfile, args);
  assert.deepEqual([again.ran, again.cached], [0, 2]);
  writeFileSync(join(extra, 'other'), 'b\n');
  const unrelated = await buildOut('cache', dockerfile, args);
  assert.deepEqual([unrelated.ran, unrelated.cached], [0, 2], 'a file the COPY does not read is not an input');
  writeFileSync(join(extra, 'f'), 'two\n');
  const changed = await buildOut('cache', dockerfile, args);
  assert.deepEqual([changed.ran, changed.cached], [2, 0]);
  assert.equal(readFileSync(join(changed.out, 'g'), 'utf8'), 'two\n');
  // the same files in another directory: the key is the content, not the path
  execFileSync('cp', ['-a', extra, join(suite.work, 'extra-cache-moved')]);
  const moved = await buildOut('cache', dockerfile, ['--build-context', `extra=${join(suite.work, 'extra-cache-moved')}`]);
  assert.deepEqual([moved.ran, moved.cached], [0, 2]);
});

test('bad --build-context specs are usage errors (exit 125) that say what is wrong', async (t) => {
  if (!suite.check(t)) return;
  const ctx = tree('bad-ctx', { Dockerfile: 'FROM busybox\n' });
  const cases: [string, RegExp][] = [
    ['extra', /invalid --build-context "extra": expected NAME=VALUE/],
    ['=/tmp', /invalid --build-context "=\/tmp": the name is empty/],
    ['x=', /invalid --build-context "x=": the value is empty/],
    [`x=${join(suite.work, 'does-not-exist')}`, /directory .*does-not-exist not found/],
    [`x=${join(ctx, 'Dockerfile')}`, /Dockerfile is not a directory/],
    ['x=foo://bar', /unknown context type "foo"/],
    ['Bad=/tmp', /"Bad" is not a valid context name/],
    ['x=docker-image://', /docker-image:\/\/ needs an image reference/],
    [`x=oci-layout://${join(suite.work, 'no-layout')}`, /is not an OCI image layout/],
  ];
  for (const [spec, re] of cases) {
    const r = await kiln(['build', '--progress', 'plain', '--build-context', spec, ctx]);
    assert.equal(r.code, 125, `${spec}: ${r.stderr}`);
    assert.match(r.stderr, re, spec);
    assert.match(r.stderr, /^ERROR: /);
  }
  const git = await kiln(['build', '--progress', 'plain', '--build-context', 'x=git@github.com:o/r.git', ctx]);
  assert.equal(git.code, 125);
  assert.match(git.stderr, /git and https contexts are not supported/);
  // an unused context is fine, as in BuildKit
  const unused = await kiln(['build', '--progress', 'plain', '--build-context', `unused=${ctx}`, ctx]);
  assert.equal(unused.code, 0, unused.stderr);
});

test('a cache mount seeded from a named context sees what COPY sees: no .dockerignored files, files owned by root', async (t) => {
  if (!suite.check(t)) return;
  const extra = tree('seed-ctx', { 'e2/f.txt': 'f\n', 'e2/g.c': 'hidden\n', '.dockerignore': 'e2/*.c\n' });
  execFileSync('chown', ['1000:1000', join(extra, 'e2', 'f.txt')]);
  const { out } = await buildOut(
    'cache-seed',
    'FROM busybox\nRUN --mount=type=cache,target=/c,from=ext,source=e2 ls /c > /out && stat -c %u:%g /c/f.txt >> /out\n',
    ['--build-context', `ext=${extra}`],
  );
  assert.equal(readFileSync(join(out, 'out'), 'utf8'), 'f.txt\n0:0\n');
});
