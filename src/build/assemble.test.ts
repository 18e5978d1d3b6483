import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseConfig, parseManifest, sha256, type Digest } from '../image/index.js';
import type { Snapshotter } from '../snapshot/index.js';
import { assembleImage, type ImagePart } from './assemble.js';
import { BuildCache } from './cache.js';
import type { BlobStore } from './ports.js';

/** An in-memory blob store: enough for assembleImage. */
function memoryStore(): BlobStore & { blobs: Map<string, Buffer> } {
  const blobs = new Map<string, Buffer>();
  const put = (data: Buffer): { digest: Digest; size: number } => {
    const digest = sha256(data);
    blobs.set(digest, data);
    return { digest, size: data.length };
  };
  return {
    blobs,
    has: async (d) => blobs.has(d),
    stat: async (d) => ({ size: blobs.get(d)?.length ?? 0 }),
    open: async () => {
      throw new Error('not used');
    },
    readBytes: async (d) => blobs.get(d) ?? Buffer.alloc(0),
    ingest: async (src) => {
      const chunks: Buffer[] = [];
      for await (const c of src) chunks.push(Buffer.from(c as Buffer));
      return put(Buffer.concat(chunks));
    },
    ingestBytes: async (data) => put(Buffer.from(data)),
  };
}

test('a step that changed nothing still gets a layer (an empty tar), not empty_layer, as Docker 26 BuildKit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-assemble-'));
  try {
    const store = memoryStore();
    // every snapshot diff is empty: RUN true, a COPY whose wildcard matched nothing, WORKDIR /tmp
    const snapshotter = { diff: async () => ({ root: dir, changes: [] }) } as unknown as Snapshotter;
    const parts: ImagePart[] = [
      { kind: 'step', cacheKey: 'k1', snapshot: 's1', history: { created_by: 'RUN /bin/sh -c true # buildkit' } },
      { kind: 'history', history: { created_by: 'ENV A=1' } },
      { kind: 'step', cacheKey: 'k2', snapshot: 's2', history: { created_by: 'WORKDIR /tmp' } },
    ];
    const img = await assembleImage(parts, { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }, { store, snapshotter, cache: new BuildCache(dir) }, {
      compression: 'gzip',
      created: '2026-01-01T00:00:00Z',
      signal: new AbortController().signal,
    });
    const config = parseConfig(img.config);
    assert.deepEqual(config.history?.map((h) => [h.created_by, h.empty_layer === true]), [
      ['RUN /bin/sh -c true # buildkit', false],
      ['ENV A=1', true],
      ['WORKDIR /tmp', false],
    ]);
    const manifest = parseManifest(img.manifest);
    assert.equal(manifest.kind, 'manifest');
    if (manifest.kind !== 'manifest') return;
    assert.equal(manifest.manifest.layers.length, 2);
    assert.equal(config.rootfs?.diff_ids.length, 2);
    // the layer is a valid, empty tar: two zero blocks
    const blob = store.blobs.get(manifest.manifest.layers[0]!.digest)!;
    assert.deepEqual(gunzipSync(blob), Buffer.alloc(1024));
    assert.equal(config.rootfs?.diff_ids[0], sha256(Buffer.alloc(1024)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
