// `kiln history` and the per-layer history of `kiln inspect`, through the real CLI on an image
// built by kiln (runc, overlayfs, busybox base).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Store } from '../../src/store/index.js';
import { runKiln } from '../helpers/cli.js';
import { isRoot, which, prereq } from '../helpers/prereq.js';
import { haveBusybox, makeBusyboxRootfs } from '../helpers/busybox-rootfs.js';
import { addRootfsImage } from '../helpers/kiln-image.js';

let root = '';
let work = '';
let imageId = '';
const ready = isRoot && which('runc') !== undefined && haveBusybox();
const WHAT = 'root, runc and busybox-static';
const kiln = (args: string[]) => runKiln(args, { env: { KILN_ROOT: root }, timeoutMs: 120_000 });
const LONG = `echo ${'a'.repeat(60)} > /long.txt`;
const DD = 'RUN /bin/sh -c dd if=/dev/zero of=/mb bs=1000 count=1000 2>/dev/null';

before(async () => {
  if (!ready) return;
  work = mkdtempSync(join(tmpdir(), 'kiln-history-'));
  root = join(work, 'root');
  await addRootfsImage(Store.open(root), 'docker.io/library/busybox:latest', makeBusyboxRootfs(join(work, 'busybox')), { Cmd: ['sh'] });
  const ctx = join(work, 'ctx');
  mkdirSync(ctx);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    ['FROM busybox', 'ENV A=1', 'RUN dd if=/dev/zero of=/mb bs=1000 count=1000 2>/dev/null', `RUN ${LONG}`, 'CMD ["sh"]', ''].join('\n'),
  );
  const r = await kiln(['build', '-q', '-t', 'hist/app:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  imageId = r.stdout.trim();
});

after(() => {
  if (work) execFileSync('rm', ['-rf', work]);
});

test('kiln history: docker columns, newest first, truncated CREATED BY, layer sizes, <missing> below the top', async (t) => {
  if (!prereq(t, ready, WHAT)) return;
  const r = await kiln(['history', 'hist/app:1']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^IMAGE {10}CREATED {2,}CREATED BY {2,}SIZE {2,}COMMENT$/);
  const rows = lines.slice(1).map((l) => l.split(/ {3,}/));
  assert.equal(rows.length, 5); // CMD, RUN long, RUN dd, ENV, base layer
  assert.equal(rows[0]![0], imageId.slice('sha256:'.length, 'sha256:'.length + 12));
  assert.ok(rows.slice(1).every((c) => c[0] === '<missing>'));
  assert.equal(rows[0]![2], 'CMD ["sh"]');
  assert.equal(rows[0]![3], '0B');
  assert.equal(rows[1]![2], `RUN /bin/sh -c ${LONG}`.slice(0, 44) + '…');
  assert.equal(rows[2]![2], `${DD.slice(0, 44)}…`);
  assert.equal(rows[2]![3], '1MB');
  assert.equal(rows[3]![2], 'ENV A=1');
  assert.equal(rows[4]![2], 'test rootfs docker.io/library/busybox:latest');
  assert.equal(rows[0]![4], 'buildkit.dockerfile.v0');
});

test('kiln history --no-trunc --format json: one object per line with docker keys; -q; -H=false; --format template', async (t) => {
  if (!prereq(t, ready, WHAT)) return;
  const j = await kiln(['history', '--no-trunc', '--format', 'json', 'hist/app:1']);
  assert.equal(j.code, 0, j.stderr);
  const objs = j.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  assert.deepEqual(Object.keys(objs[0]!), ['Comment', 'CreatedAt', 'CreatedBy', 'CreatedSince', 'ID', 'Size']);
  assert.equal(objs[0]!['ID'], imageId);
  assert.equal(objs[1]!['CreatedBy'], `RUN /bin/sh -c ${LONG} # buildkit`);
  assert.match(objs[1]!['CreatedAt']!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(objs[1]!['CreatedSince']!, / ago$/);

  const q = await kiln(['history', '-q', '--no-trunc', 'hist/app:1']);
  assert.equal(q.stdout, [imageId, '<missing>', '<missing>', '<missing>', '<missing>', ''].join('\n'));

  const raw = await kiln(['history', '-H=false', '--format', '{{.Size}}|{{.CreatedBy}}', 'hist/app:1']);
  assert.equal(raw.code, 0, raw.stderr);
  const sizes = raw.stdout.trimEnd().split('\n');
  assert.equal(sizes[0], '0|CMD ["sh"]');
  assert.equal(sizes[2], `1000000|${DD.slice(0, 44)}…`);
  assert.equal(sizes[1], `61|${`RUN /bin/sh -c ${LONG}`.slice(0, 44)}…`); // 60 a's and a newline

  const bareH = await kiln(['history', '-H', 'hist/app:1']); // docker's -H is a boolean flag
  assert.equal(bareH.code, 0, bareH.stderr);
  assert.match(bareH.stdout, /^IMAGE /);
  const none = await kiln(['history']);
  assert.equal(none.code, 125);
  assert.match(none.stderr, /requires exactly 1 argument/);

  const bad = await kiln(['history', '--format', '{{.Nope}}', 'hist/app:1']);
  assert.equal(bad.code, 125, bad.stderr); // a usage error, like docker
  assert.match(bad.stderr, /no field Nope/);
  const missing = await kiln(['history', 'hist/none:1']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such image: hist\/none:1/);
});

test('kiln inspect: every layer with the history entry that made it; -s adds the uncompressed size history shows', async (t) => {
  if (!prereq(t, ready, WHAT)) return;
  const r = await kiln(['inspect', '-s', 'hist/app:1']);
  assert.equal(r.code, 0, r.stderr);
  const [info] = JSON.parse(r.stdout) as { Id: string; RootFS: { Layers: string[] }; Layers: { DiffID: string; CreatedBy: string; Comment: string; Created: string; UncompressedSize: number; Size: number }[] }[];
  assert.equal(info!.Id, imageId);
  assert.deepEqual(info!.Layers.map((l) => l.DiffID), info!.RootFS.Layers);
  assert.deepEqual(info!.Layers.map((l) => l.CreatedBy), [
    'test rootfs docker.io/library/busybox:latest',
    `${DD} # buildkit`,
    `RUN /bin/sh -c ${LONG} # buildkit`,
  ]);
  assert.equal(info!.Layers[1]!.UncompressedSize, 1_000_000);
  assert.equal(info!.Layers[2]!.UncompressedSize, 61);
  assert.ok(info!.Layers[1]!.Size < 10_000, 'zeros compress');
  const plain = await kiln(['inspect', 'hist/app:1']);
  const [p] = JSON.parse(plain.stdout) as { Layers: Record<string, unknown>[] }[];
  assert.equal(p!.Layers[1]!['UncompressedSize'], undefined);
  assert.equal(p!.Layers[1]!['Comment'], 'buildkit.dockerfile.v0');
});
