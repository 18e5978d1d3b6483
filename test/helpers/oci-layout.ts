// A tiny OCI image-layout directory that satisfies registry's BlobSink and BlobSource, plus
// builders for test images (random gzip layers, config, manifest, multi-platform index).
// Stand-in until tests switch to the real content store.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync, createGzip } from 'node:zlib';
import { KilnError } from '../../src/errors.js';
import { type Descriptor, type Digest, MediaType, type Platform, sha256 } from '../../src/image/index.js';
import type { BlobSink, BlobSource } from '../../src/registry/index.js';

export class OciDir implements BlobSink, BlobSource {
  readonly blobsDir: string;
  ingests = 0;

  constructor(readonly dir: string) {
    this.blobsDir = join(dir, 'blobs', 'sha256');
    mkdirSync(this.blobsDir, { recursive: true });
    if (!existsSync(join(dir, 'oci-layout'))) writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    if (!existsSync(join(dir, 'index.json'))) this.writeIndex([]);
  }

  path(d: Digest): string {
    return join(this.blobsDir, d.slice('sha256:'.length));
  }

  async has(d: Digest): Promise<boolean> {
    return existsSync(this.path(d));
  }

  async ingest(stream: Readable, expect: { digest: Digest; size: number }, signal?: AbortSignal): Promise<{ digest: Digest; size: number }> {
    this.ingests++;
    const tmp = `${this.path(expect.digest)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const hash = createHash('sha256');
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(stream, counter, createWriteStream(tmp), ...(signal ? [{ signal }] : []) as []);
      const digest = `sha256:${hash.digest('hex')}` as Digest;
      if (digest !== expect.digest || size !== expect.size) {
        throw new KilnError('DIGEST_MISMATCH', `ingested ${digest} (${size} bytes), expected ${expect.digest} (${expect.size} bytes)`);
      }
      renameSync(tmp, this.path(digest));
      return { digest, size };
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  async open(d: Digest): Promise<Readable> {
    if (!existsSync(this.path(d))) throw new KilnError('IMAGE_NOT_FOUND', `blob ${d} not in ${this.dir}`);
    return createReadStream(this.path(d), { highWaterMark: 1 << 20 });
  }

  read(d: Digest): Buffer {
    return readFileSync(this.path(d));
  }

  putBytes(bytes: Buffer | string, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
    const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    const digest = sha256(b);
    writeFileSync(this.path(digest), b);
    return { mediaType, digest, size: b.length, ...extra };
  }

  writeIndex(entries: { desc: Descriptor; tag?: string }[]): void {
    const manifests = entries.map(({ desc, tag }) => (tag ? { ...desc, annotations: { ...desc.annotations, 'org.opencontainers.image.ref.name': tag } } : desc));
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
  }

  /** Blob files present (for "nothing stored" assertions). */
  blobCount(): number {
    return readdirCount(this.blobsDir);
  }
}

function readdirCount(dir: string): number {
  return readdirSync(dir).filter((n) => !n.endsWith('.tmp')).length;
}

export interface TestImage {
  readonly manifest: Descriptor;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/** An image with small random gzip layers; `layerSizes` are uncompressed sizes. */
export function makeImage(store: OciDir, opts: { layerSizes?: number[]; platform?: Platform; docker?: boolean } = {}): TestImage {
  const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (const n of opts.layerSizes ?? [1000, 50_000]) {
    const raw = randomBytes(n);
    diffIds.push(sha256(raw));
    layers.push(store.putBytes(gzipSync(raw, { level: 1 }), opts.docker ? MediaType.DockerLayer : MediaType.OciLayerGzip));
  }
  const cfg = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: ['PATH=/usr/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    created: '2026-01-01T00:00:00Z',
  };
  const config = store.putBytes(JSON.stringify(cfg), opts.docker ? MediaType.DockerConfig : MediaType.OciConfig);
  const mt = opts.docker ? MediaType.DockerManifest : MediaType.OciManifest;
  const manifest = store.putBytes(JSON.stringify({ schemaVersion: 2, mediaType: mt, config, layers }), mt);
  return { manifest, config, layers };
}

export function makeIndex(store: OciDir, images: { image: TestImage; platform: Platform }[]): Descriptor {
  const manifests = images.map(({ image, platform }) => ({ ...image.manifest, platform }));
  return store.putBytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }), MediaType.OciIndex);
}

/** A layer of `size` random bytes gzipped at level 1, written by streaming (for big benchmark images). */
export async function putRandomGzipLayer(store: OciDir, size: number): Promise<{ desc: Descriptor; diffId: Digest }> {
  const tmp = join(store.blobsDir, `layer.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const rawHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let gzSize = 0;
  let left = size;
  const src = new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, 1 << 20);
      left -= n;
      const b = randomBytes(n);
      rawHash.update(b);
      this.push(b);
    },
  });
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      gzHash.update(chunk);
      gzSize += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(src, createGzip({ level: 1 }), tap, createWriteStream(tmp));
  const digest = `sha256:${gzHash.digest('hex')}` as Digest;
  renameSync(tmp, store.path(digest));
  return { desc: { mediaType: MediaType.OciLayerGzip, digest, size: gzSize }, diffId: `sha256:${rawHash.digest('hex')}` as Digest };
}
