import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, utimesSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KilnError } from '../errors.js';
import { MediaType, sha256, validate, type Digest } from '../image/index.js';
import { Store, gc, loadImage, resolveStoreRoot, verify, REF_NAME, StoreLock } from './index.js';
import { addRandomImage, gunzip } from '../../test/helpers/random-image.js';

function tempStore(): Store {
  return Store.open(mkdtempSync(join(tmpdir(), 'kiln-store-')));
}

async function drain(s: NodeJS.ReadableStream): Promise<void> {
  await pipeline(s, new Writable({ write: (_c, _e, cb) => cb() }));
}

const isCode = (code: string) => (e: unknown) => e instanceof KilnError && e.code === code;

test('resolveStoreRoot: KILN_ROOT, root, XDG, HOME', () => {
  assert.equal(resolveStoreRoot({ KILN_ROOT: '/x/y' }, 1000), '/x/y');
  assert.equal(resolveStoreRoot({ KILN_ROOT: '/x/y' }, 0), '/x/y');
  assert.equal(resolveStoreRoot({ HOME: '/home/u' }, 0), '/var/lib/kiln');
  assert.equal(resolveStoreRoot({ HOME: '/home/u', XDG_DATA_HOME: '/data' }, 1000), '/data/kiln');
  assert.equal(resolveStoreRoot({ HOME: '/home/u', XDG_DATA_HOME: 'relative' }, 1000), '/home/u/.local/share/kiln');
  assert.equal(resolveStoreRoot({ HOME: '/home/u' }, 1000), '/home/u/.local/share/kiln');
});

test('Store.open lays out an OCI image layout', () => {
  const s = tempStore();
  assert.deepEqual(JSON.parse(readFileSync(join(s.root, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  assert.deepEqual(JSON.parse(readFileSync(join(s.root, 'index.json'), 'utf8')).manifests, []);
  assert.ok(existsSync(join(s.root, 'blobs', 'sha256')));
});

test('ingest hashes, stores under blobs/sha256 and leaves no temp files', async () => {
  const s = tempStore();
  const data = Buffer.from('hello kiln');
  const src = new PassThrough();
  src.end(data);
  const r = await s.ingest(src);
  assert.deepEqual(r, { digest: sha256(data), size: data.length });
  assert.deepEqual(readFileSync(join(s.root, 'blobs', 'sha256', sha256(data).slice(7))), data);
  assert.ok(await s.has(r.digest));
  assert.equal((await s.stat(r.digest)).size, data.length);
  assert.deepEqual(readdirSync(s.tmpDir), []);
  // same content again, with expectations: fine
  assert.deepEqual(await s.ingestBytes(data, { digest: r.digest, size: data.length }), r);
  assert.deepEqual(s.list(), [r.digest]);
});

test('a blob streamed in many uneven chunks past the writeback steps is stored byte for byte', async () => {
  const s = tempStore();
  // 9.5 MiB in chunks that straddle the 4 MiB writeback steps of fileSink
  const chunks = Array.from({ length: 19 }, (_, i) => Buffer.alloc((1 << 19) + (i % 3) * 4097 - 4097, i));
  const data = Buffer.concat(chunks);
  const r = await s.ingest(Readable.from(chunks), { digest: sha256(data), size: data.length });
  assert.deepEqual(readFileSync(join(s.root, 'blobs', 'sha256', sha256(data).slice(7))), data);
  assert.equal(r.size, data.length);
  assert.deepEqual(readdirSync(s.tmpDir), []);
});

test('ingest with a wrong digest or size stores nothing and throws DIGEST_MISMATCH', async () => {
  const s = tempStore();
  const data = Buffer.from('some bytes');
  await assert.rejects(s.ingestBytes(data, { digest: sha256('other') }), isCode('DIGEST_MISMATCH'));
  await assert.rejects(s.ingestBytes(data, { digest: sha256(data), size: 3 }), isCode('DIGEST_MISMATCH'));
  await assert.rejects(s.ingestBytes(data, { digest: sha256(data), size: 30 }), isCode('DIGEST_MISMATCH'));
  await assert.rejects(s.ingestBytes(data, { digest: 'sha256:nope' as Digest }), isCode('DIGEST_INVALID'));
  assert.deepEqual(s.list(), []);
  assert.deepEqual(readdirSync(s.tmpDir), []);
});

test('open verifies while reading; absent blobs are BLOB_NOT_FOUND', async () => {
  const s = tempStore();
  const { digest } = await s.ingestBytes(Buffer.from('original content'));
  await drain(await s.open(digest));
  writeFileSync(s.blobs.path(digest), 'tampered content');
  await assert.rejects(drain(await s.open(digest)), isCode('DIGEST_MISMATCH'));
  await assert.rejects(s.readBytes(digest), isCode('DIGEST_MISMATCH'));
  await assert.rejects(s.open(sha256('absent')), isCode('BLOB_NOT_FOUND'));
  await assert.rejects(s.stat(sha256('absent')), isCode('BLOB_NOT_FOUND'));
  assert.equal(s.delete(digest), true);
  assert.equal(s.delete(digest), false);
});

test('an aborted ingest stores nothing', async () => {
  const s = tempStore();
  const ac = new AbortController();
  const src = new PassThrough();
  src.write('partial');
  const p = s.ingest(src, undefined, ac.signal);
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(p, { name: 'AbortError' });
  assert.deepEqual(s.list(), []);
  assert.deepEqual(readdirSync(s.tmpDir), []);
});

test('tag/resolve/untag keep index.json as the name index; tagging needs the full closure', async () => {
  const s = tempStore();
  const { descriptor } = await addRandomImage(s, 'example.com/app:1', { seed: 3 });
  assert.deepEqual(s.resolve('example.com/app:1'), descriptor);
  const idx = JSON.parse(readFileSync(join(s.root, 'index.json'), 'utf8'));
  assert.equal(idx.manifests[0].annotations[REF_NAME], 'example.com/app:1');
  await s.tag([{ name: 'app:latest', descriptor }, { name: 'example.com/app:1', descriptor }]);
  assert.deepEqual(s.refs().map((r) => r.name), ['example.com/app:1', 'app:latest']);
  assert.throws(() => s.resolve('nope'), isCode('IMAGE_NOT_FOUND'));

  // a manifest whose layer is missing cannot be tagged
  const img = await loadImage(s, 'app:latest');
  const layer0 = (await img.manifest()).layers[0]!.digest;
  s.delete(layer0);
  await assert.rejects(s.tag({ name: 'broken', descriptor }), (e: unknown) => isCode('BLOB_NOT_FOUND')(e) && (e as Error).message.includes(layer0));
  assert.deepEqual(await s.untag(['app:latest', 'missing']), ['app:latest']);
  assert.deepEqual(s.refs().map((r) => r.name), ['example.com/app:1']);
});

test('loadImage gives a lazy Image that validates', async () => {
  const s = tempStore();
  const { image, descriptor } = await addRandomImage(s, 'v:1', { seed: 7, layers: 3 });
  const loaded = await loadImage(s, 'v:1', { decompress: gunzip });
  assert.equal(await loaded.digest(), descriptor.digest);
  assert.equal(await loaded.digest(), await image.digest());
  assert.deepEqual(await validate(loaded), []);
  const docker = await addRandomImage(s, 'd:1', { seed: 8, format: 'docker' });
  assert.equal(docker.descriptor.mediaType, MediaType.DockerManifest);
  assert.deepEqual(await validate(await loadImage(s, 'd:1', { decompress: gunzip })), []);
  // corrupt a layer: validate reports it
  const l = (await loaded.manifest()).layers[1]!.digest;
  writeFileSync(s.blobs.path(l), 'garbage');
  const problems = await validate(await loadImage(s, 'v:1', { decompress: gunzip }));
  assert.ok(problems.some((p) => p.includes(l) && /DIGEST_MISMATCH|digest/.test(p)), problems.join('\n'));
});

test('gc removes what no name or extra root reaches, and abandoned temp files', async () => {
  const s = tempStore();
  const keep = await addRandomImage(s, 'keep:1', { seed: 1 });
  const drop = await addRandomImage(s, 'drop:1', { seed: 2 });
  const extra = await addRandomImage(s, undefined, { seed: 4 });
  const loose = await s.ingestBytes(Buffer.from('loose blob'));
  await s.untag(['drop:1']);
  writeFileSync(join(s.tmpDir, 'ingest-999999-abcdef'), 'x'.repeat(100)); // dead pid
  writeFileSync(join(s.tmpDir, `ingest-${process.pid}-abcdef`), 'mine'); // a live ingest
  const before = s.list().length;
  const dry = await gc(s, { dryRun: true, extraRoots: [extra.descriptor.digest] });
  assert.equal(s.list().length, before);
  const r = await gc(s, { extraRoots: [extra.descriptor.digest] });
  assert.deepEqual([...r.removed].sort(), [...dry.removed].sort());
  assert.ok(r.removed.includes(loose.digest));
  assert.ok(r.removed.includes(drop.descriptor.digest));
  assert.equal(r.tempFilesRemoved, 1);
  assert.ok(r.reclaimedBytes > 100);
  assert.deepEqual(readdirSync(s.tmpDir), [`ingest-${process.pid}-abcdef`]);
  assert.ok(await s.has(extra.descriptor.digest));
  assert.deepEqual(await verify(s), []);
  assert.deepEqual(await validate(await loadImage(s, 'keep:1', { decompress: gunzip })), []);
  assert.equal(keep.descriptor.digest, s.resolve('keep:1').digest);
  // grace keeps young unreferenced blobs
  const young = await s.ingestBytes(Buffer.from('young'));
  const old = await s.ingestBytes(Buffer.from('old'));
  utimesSync(s.blobs.path(old.digest), new Date(0), new Date(0));
  const g = await gc(s, { graceMs: 3600_000, extraRoots: [extra.descriptor.digest] });
  assert.deepEqual(g.removed, [old.digest]);
  assert.ok(await s.has(young.digest));
});

test('verify finds corrupt and missing blobs', async () => {
  const s = tempStore();
  const { image } = await addRandomImage(s, 'v:1', { seed: 11 });
  assert.deepEqual(await verify(s), []);
  const m = await image.manifest();
  writeFileSync(s.blobs.path(m.layers[0]!.digest), 'bad');
  s.delete(m.config.digest);
  writeFileSync(join(s.root, 'blobs', 'sha256', 'junk'), '');
  const p = await verify(s);
  assert.ok(p.some((x) => x.startsWith(`blob ${m.layers[0]!.digest}:`) && /DIGEST|digest/.test(x)), p.join('\n'));
  assert.ok(p.includes(`v:1: blob ${m.config.digest} is missing`), p.join('\n'));
  assert.ok(p.includes('blobs/sha256/junk: not a blob name'), p.join('\n'));
});

test('the lock excludes, times out with STORE_LOCKED and breaks a dead holder', async () => {
  const s = tempStore();
  // mutual exclusion inside one process
  let inside = 0;
  let max = 0;
  await Promise.all(Array.from({ length: 5 }, () => s.withLock(async () => {
    inside++;
    max = Math.max(max, inside);
    await new Promise((r) => setTimeout(r, 5));
    inside--;
  })));
  assert.equal(max, 1);
  // a live holder (this process, another token): time out
  writeFileSync(s.lockPath, JSON.stringify({ pid: process.pid, host: hostname(), token: 'other', since: 'now' }));
  await assert.rejects(StoreLock.acquire(s.lockPath, s.tmpDir, { timeoutMs: 150 }), (e: unknown) => isCode('STORE_LOCKED')(e) && /pid/.test((e as Error).message));
  // a dead holder: broken at once
  writeFileSync(s.lockPath, JSON.stringify({ pid: 999999, host: hostname(), token: 'dead', since: 'then' }));
  const l = await StoreLock.acquire(s.lockPath, s.tmpDir, { timeoutMs: 1000 });
  assert.equal(JSON.parse(readFileSync(s.lockPath, 'utf8')).pid, process.pid);
  l.release();
  assert.equal(existsSync(s.lockPath), false);
  assert.deepEqual(readdirSync(s.root).filter((n) => n.includes('broken')), []);
  rmSync(s.root, { recursive: true });
});

test('sha512 content can be ingested and read back verified', async () => {
  const s = tempStore();
  const data = Buffer.from('sha512 content');
  const { createHash } = await import('node:crypto');
  const d = `sha512:${createHash('sha512').update(data).digest('hex')}` as Digest;
  const r = await s.ingestBytes(data, { digest: d, size: data.length });
  assert.deepEqual(r, { digest: d, size: data.length });
  assert.deepEqual(await s.readBytes(d), data);
  await drain(await s.open(d));
  assert.deepEqual(s.list(), [d]);
  assert.deepEqual(await verify(s), []);
});

test('opening a store never overwrites an existing index.json', async () => {
  const s = tempStore();
  await addRandomImage(s, 'x:1', { seed: 31 });
  const again = Store.open(s.root);
  assert.deepEqual(again.refs().map((r) => r.name), ['x:1']);
});

test("sweepDeadTemps removes what a dead kiln was writing, never a live one's", () => {
  const s = tempStore();
  writeFileSync(join(s.tmpDir, 'ingest-999999-abcdef'), 'x'.repeat(100)); // a killed build's layer
  writeFileSync(join(s.tmpDir, `ingest-${process.pid}-abcdef`), 'mine');
  writeFileSync(join(s.tmpDir, 'not-a-temp-name'), 'kept');
  assert.equal(s.sweepDeadTemps(), 1);
  assert.deepEqual(readdirSync(s.tmpDir).sort(), [`ingest-${process.pid}-abcdef`, 'not-a-temp-name']);
});
