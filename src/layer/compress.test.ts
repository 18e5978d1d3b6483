import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { MediaType } from '../image/index.js';
import { decompressLayer, layerFromTar, sniffCompression } from './compress.js';
import { TAR_END, encodeEntry } from './tar-format.js';
import { needCommand } from '../../test/helpers/prereq.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function sampleTar(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    parts.push(encodeEntry({ name: `f${i}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 }, Buffer.concat([randomBytes(2000), Buffer.alloc(50_000, i)])));
  }
  return Buffer.concat([...parts, TAR_END]);
}

function collector(): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  return {
    sink: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
    bytes: () => Buffer.concat(chunks),
  };
}

async function all(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

test('gzip: one pass gives digest of the blob, diffId of the tar, deterministic bytes (mtime 0)', async () => {
  const tar = sampleTar();
  const a = collector();
  const r = await layerFromTar(Readable.from([tar]), { compression: 'gzip' }, a.sink);
  const blob = a.bytes();
  assert.equal(r.digest, sha(blob));
  assert.equal(r.diffId, sha(tar));
  assert.equal(r.size, blob.length);
  assert.equal(r.uncompressedSize, tar.length);
  assert.equal(r.mediaType, MediaType.OciLayerGzip);
  assert.ok(gunzipSync(blob).equals(tar));
  assert.equal(blob.readUInt32LE(4), 0, 'gzip header mtime is 0');
  // an ingest callback works the same and gives the same digest
  let viaCallback: Buffer = Buffer.alloc(0);
  const r2 = await layerFromTar(Readable.from([tar]), { compression: 'gzip' }, async (s) => {
    viaCallback = await all(s);
  });
  assert.equal(r2.digest, r.digest);
  assert.ok(viaCallback.equals(blob));
  const fast = await layerFromTar(Readable.from([tar]), { compression: 'gzip', level: 1 }, collector().sink);
  assert.notEqual(fast.digest, r.digest);
  assert.equal(fast.diffId, r.diffId);
});

test('zstd via the zstd CLI: digests match, zstd -d restores the tar', async (t) => {
  if (!needCommand(t, 'zstd')) return;
  const tar = sampleTar();
  const a = collector();
  const r = await layerFromTar(Readable.from([tar]), { compression: 'zstd' }, a.sink);
  const blob = a.bytes();
  assert.equal(r.digest, sha(blob));
  assert.equal(r.diffId, sha(tar));
  assert.equal(r.mediaType, MediaType.OciLayerZstd);
  assert.equal(sniffCompression(blob), 'zstd');
  assert.ok(execFileSync('zstd', ['-d', '-c', '-q'], { input: blob, maxBuffer: 1 << 28 }).equals(tar));
  assert.ok((await all(await decompressLayer(Readable.from([blob]), MediaType.OciLayerZstd))).equals(tar));
  const broken = Buffer.from(blob);
  broken.fill(0x55, 20, 200);
  await assert.rejects(all(await decompressLayer(Readable.from([broken]))), { code: 'LAYER_INVALID', message: /zstd decompression failed/ });
});

test('no compression: digest equals diffId', async () => {
  const tar = sampleTar();
  const r = await layerFromTar(Readable.from([tar]), { compression: 'none' }, collector().sink);
  assert.equal(r.digest, r.diffId);
  assert.equal(r.mediaType, MediaType.OciLayer);
});

test('decompressLayer sniffs magic bytes, honours media types, and reports corrupt blobs as LAYER_INVALID', async () => {
  const tar = sampleTar();
  const gz = gzipSync(tar);
  assert.equal(sniffCompression(gz), 'gzip');
  assert.equal(sniffCompression(tar), 'none');
  assert.ok((await all(await decompressLayer(Readable.from([gz])))).equals(tar));
  assert.ok((await all(await decompressLayer(Readable.from([gz]), MediaType.DockerLayer))).equals(tar));
  assert.ok((await all(await decompressLayer(Readable.from([tar]), MediaType.OciLayer))).equals(tar));
  await assert.rejects(decompressLayer(Readable.from([tar]), MediaType.OciLayerGzip), { code: 'LAYER_INVALID', message: /declared .*gzip/ });
  const broken = Buffer.from(gz);
  broken.fill(0x55, 100, 400);
  await assert.rejects(all(await decompressLayer(Readable.from([broken]))), { code: 'LAYER_INVALID' });
});

test('a failing sink or an abort stops the whole pass (no hang, no stray zstd process)', async (t) => {
  const tar = sampleTar();
  for (const compression of ['gzip', 'none', ...(needCommand(t, 'zstd') ? ['zstd' as const] : [])] as const) {
    await assert.rejects(
      layerFromTar(Readable.from([tar, tar, tar]), { compression }, async () => {
        throw new Error('disk full');
      }),
      /disk full/,
      compression,
    );
    const ac = new AbortController();
    const slow = new Readable({ read() {} }); // never ends by itself
    slow.push(tar);
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(layerFromTar(slow, { compression, signal: ac.signal }, collector().sink), { code: 'ABORTED' }, compression);
  }
});
