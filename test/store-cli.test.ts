// The store commands through the real CLI, on a temp KILN_ROOT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKiln } from './helpers/cli.js';
import { addRandomImage, gunzip } from './helpers/random-image.js';
import { Store, loadImage, verify } from '../src/store/index.js';
import { digestHex, validate } from '../src/image/index.js';
import { humanAgo, humanSize, splitName, table } from '../src/cli/commands/store.js';

function tempRoot(): string {
  return join(mkdtempSync(join(tmpdir(), 'kiln-cli-')), 'root');
}

test('formatting helpers match the docker CLI', () => {
  assert.equal(humanSize(0), '0B');
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1000), '1kB');
  assert.equal(humanSize(7_790_000), '7.79MB');
  assert.equal(humanSize(77_834_567), '77.8MB');
  assert.equal(humanSize(1_234_567_890), '1.23GB');
  const now = Date.parse('2026-01-10T00:00:00Z');
  const ago = (ms: number) => humanAgo(new Date(now - ms).toISOString(), now);
  assert.equal(ago(500), 'Less than a second ago');
  assert.equal(ago(30_000), '30 seconds ago');
  assert.equal(ago(90_000), 'About a minute ago');
  assert.equal(ago(3600_000), 'About an hour ago');
  assert.equal(ago(5 * 3600_000), '5 hours ago');
  assert.equal(ago(3 * 86400_000), '3 days ago');
  assert.equal(ago(20 * 86400_000), '2 weeks ago');
  assert.equal(ago(100 * 86400_000), '3 months ago');
  assert.equal(ago(3 * 365 * 86400_000), '3 years ago');
  assert.equal(humanAgo(undefined), 'N/A');
  assert.deepEqual(splitName('localhost:5000/a/b:1.0'), ['localhost:5000/a/b', '1.0']);
  assert.deepEqual(splitName('localhost:5000/a'), ['localhost:5000/a', '<none>']);
  assert.deepEqual(splitName(`a/b@sha256:${'0'.repeat(64)}`), ['a/b', '<none>']);
  assert.equal(table([['A', 'BB'], ['CCCCCCCCCCC', 'D']]), 'A             BB\nCCCCCCCCCCC   D\n');
});

test('kiln images lists names from the store at KILN_ROOT', async () => {
  const root = tempRoot();
  const empty = await runKiln(['images'], { env: { KILN_ROOT: root } });
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal(empty.stdout, 'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n');
  assert.ok(existsSync(join(root, 'oci-layout')), 'the store was created at KILN_ROOT');

  const store = Store.open(root);
  const a = await addRandomImage(store, 'example.com/team/app:1.0', { seed: 1, created: '2020-01-01T00:00:00Z' });
  await addRandomImage(store, 'busybox:latest', { seed: 2, format: 'docker', created: new Date(Date.now() - 3 * 3600_000).toISOString() });
  const r = await runKiln(['images'], { env: { KILN_ROOT: root } });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.equal(lines.length, 3);
  // newest first, like docker
  assert.match(lines[1]!, /^busybox\s+latest\s+[0-9a-f]{12}\s+3 hours ago\s+\d+(\.\d+)?kB$/);
  const cfg = (await a.image.manifest()).config.digest;
  const size = (await a.image.manifest()).layers.reduce((n, l) => n + l.size, 0) + (await a.image.manifest()).config.size;
  assert.match(lines[2]!, new RegExp(`^example\\.com/team/app\\s+1\\.0\\s+${digestHex(cfg).slice(0, 12)}\\s+\\d+ years ago\\s+${humanSize(size).replace('.', '\\.')}$`));

  const q = await runKiln(['images', '-q', '--no-trunc'], { env: { KILN_ROOT: root } });
  assert.ok(q.stdout.split('\n').includes(cfg), q.stdout);

  // a name whose config blob is gone is still listed, with a warning
  store.delete(cfg);
  const w = await runKiln(['images'], { env: { KILN_ROOT: root } });
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, /\nexample\.com\/team\/app\s+1\.0\s+<invalid>\s+N\/A\s+N\/A\n$/);
  assert.match(w.stderr, /WARNING: example\.com\/team\/app:1\.0: blob sha256:[0-9a-f]{64} is not in the local store/);
});

test('kiln tag adds a name by name or image ID; unknown sources fail', async () => {
  const root = tempRoot();
  const store = Store.open(root);
  const a = await addRandomImage(store, 'src:1', { seed: 3 });
  const env = { KILN_ROOT: root };
  assert.equal((await runKiln(['tag', 'src:1', 'dst:2'], { env })).code, 0);
  const id = digestHex((await a.image.manifest()).config.digest).slice(0, 12);
  const byId = await runKiln(['tag', id, 'other/dst:3'], { env });
  assert.equal(byId.code, 0, byId.stderr);
  // New names are stored fully qualified (like pull, import and build -t); typed names still find them.
  assert.deepEqual(store.refs().map((r) => [r.name, r.descriptor.digest]), [
    ['src:1', a.descriptor.digest], ['docker.io/library/dst:2', a.descriptor.digest], ['docker.io/other/dst:3', a.descriptor.digest]]);
  assert.equal((await runKiln(['tag', 'dst:2', 'dst:4'], { env })).code, 0, 'the familiar name finds the stored one');
  assert.match((await runKiln(['images'], { env })).stdout, /^dst\s+4\s/m, 'kiln images shows familiar names');
  const bad = await runKiln(['tag', 'nope:1', 'x:1'], { env });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /No such image: nope:1/);
  const usage = await runKiln(['tag', 'src:1'], { env });
  assert.equal(usage.code, 125);
  // a target with a digest would claim a digest the image does not have (docker tag refuses it)
  const digest = await runKiln(['tag', 'src:1', `y@sha256:${'0'.repeat(64)}`], { env });
  assert.equal(digest.code, 125, digest.stderr);
  assert.match(digest.stderr, /refusing to create a tag with a digest reference/);
  const invalid = await runKiln(['tag', 'src:1', 'Not A Name'], { env });
  assert.equal(invalid.code, 125, invalid.stderr);
  assert.doesNotMatch((await runKiln(['images'], { env })).stdout, /sha256:0000|Not A Name/, 'neither was stored');
});

test('kiln rmi untags, reports unknown names, needs -f for an ID with several names', async () => {
  const root = tempRoot();
  const store = Store.open(root);
  const a = await addRandomImage(store, 'a:1', { seed: 4 });
  await store.tag({ name: 'a:2', descriptor: a.descriptor });
  await addRandomImage(store, 'b:1', { seed: 5 });
  const env = { KILN_ROOT: root };
  const r = await runKiln(['rmi', 'b:1', 'missing:1'], { env });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'Untagged: b:1\n');
  assert.match(r.stderr, /No such image: missing:1/);
  const id = digestHex((await a.image.manifest()).config.digest).slice(0, 12);
  const conflict = await runKiln(['rmi', id], { env });
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /must be forced/);
  assert.equal(store.refs().length, 2);
  const forced = await runKiln(['rmi', '-f', id], { env });
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(forced.stdout, 'Untagged: a:1\nUntagged: a:2\n');
  assert.deepEqual(store.refs(), []);
});

test('kiln prune reclaims unreferenced blobs and keeps named images intact', async () => {
  const root = tempRoot();
  const store = Store.open(root);
  await addRandomImage(store, 'keep:1', { seed: 6 });
  const drop = await addRandomImage(store, 'drop:1', { seed: 7, layers: 3 });
  const env = { KILN_ROOT: root };
  assert.equal((await runKiln(['rmi', 'drop:1'], { env })).code, 0);
  const before = store.list().length;
  const r = await runKiln(['prune'], { env });
  assert.equal(r.code, 0, r.stderr);
  const m = await drop.image.manifest();
  const expected = m.config.size + m.layers.reduce((n, l) => n + l.size, 0) + drop.descriptor.size;
  assert.match(r.stdout, new RegExp(`Total reclaimed space: ${humanSize(expected).replace('.', '\\.')}\\n$`));
  assert.ok(r.stdout.includes(`deleted: ${drop.descriptor.digest}\n`));
  assert.equal(store.list().length, before - 5);
  assert.deepEqual(await validate(await loadImage(store, 'keep:1', { decompress: gunzip })), []);
  const again = await runKiln(['prune'], { env });
  assert.match(again.stdout, /Total reclaimed space: 0B/);
});

test('kiln store verify: exit 0 when clean, 1 listing problems when not', async () => {
  const root = tempRoot();
  const store = Store.open(root);
  const a = await addRandomImage(store, 'v:1', { seed: 8 });
  const env = { KILN_ROOT: root };
  const ok = await runKiln(['store', 'verify'], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /: 4 blobs and 1 name verified, no problems\n$/);
  const layer = (await a.image.manifest()).layers[1]!.digest;
  writeFileSync(store.blobs.path(layer), 'corrupted');
  const bad = await runKiln(['store', 'verify'], { env });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, new RegExp(`blob ${layer}: .*content has digest`));
  assert.match(bad.stderr, /ERROR: store .*: 1 problem found/);
  assert.match(bad.stderr, /hint: /);
  assert.deepEqual(await verify(store), (bad.stdout.trimEnd().split('\n')));
});
