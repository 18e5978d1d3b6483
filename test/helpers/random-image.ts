// Builds random, valid images (random tar layers, gzipped) for tests, straight into a store
// or in memory. Deterministic for a given seed.
import { gzipSync, createGunzip } from 'node:zlib';
import {
  MediaType, appendLayers, emptyImage, layerFromBytes, setConfig, setCreated,
  type Decompressor, type Descriptor, type Image, type Layer,
} from '../../src/image/index.js';
import { writeImage, type Store } from '../../src/store/index.js';

export const gunzip: Decompressor = () => createGunzip();

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** A minimal ustar writer: regular files only, fixed metadata. */
export function tar(files: readonly { name: string; data: Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const h = Buffer.alloc(512);
    h.write(f.name, 0, 100, 'utf8');
    h.write(octal(0o644, 8), 100);
    h.write(octal(0, 8), 108);
    h.write(octal(0, 8), 116);
    h.write(octal(f.data.length, 12), 124);
    h.write(octal(0, 12), 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(octal(sum, 7) + ' ', 148);
    blocks.push(h, f.data, Buffer.alloc((512 - (f.data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function randomLayer(next: () => number, opts: { mediaType?: string; maxBytes?: number } = {}): { layer: Layer; tar: Buffer; gz: Buffer } {
  const n = 1 + Math.floor(next() * 3);
  const files = Array.from({ length: n }, (_, i) => {
    const len = Math.floor(next() * (opts.maxBytes ?? 4096));
    const data = Buffer.alloc(len);
    for (let j = 0; j < len; j++) data[j] = Math.floor(next() * 256);
    return { name: `f${i}-${Math.floor(next() * 1e9)}.bin`, data };
  });
  const t = tar(files);
  const gz = gzipSync(t);
  return { layer: layerFromBytes(opts.mediaType ?? MediaType.OciLayerGzip, gz, gunzip), tar: t, gz };
}

export interface RandomImageOptions {
  readonly seed?: number;
  readonly layers?: number;
  readonly format?: 'oci' | 'docker';
  readonly maxBytes?: number;
  readonly created?: string;
}

/** A random valid image in memory. */
export async function randomImage(opts: RandomImageOptions = {}): Promise<Image> {
  const next = rng(opts.seed ?? 1);
  const format = opts.format ?? 'oci';
  let img = emptyImage({ format, architecture: 'amd64', history: [] });
  const mediaType = format === 'oci' ? MediaType.OciLayerGzip : MediaType.DockerLayer;
  const n = opts.layers ?? 2;
  for (let i = 0; i < n; i++) {
    const { layer } = randomLayer(next, { mediaType, ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}) });
    img = await appendLayers(img, { layer, history: { created: opts.created ?? '2024-01-01T00:00:00Z', created_by: `layer ${i} seed ${opts.seed ?? 1}` } });
  }
  img = await setConfig(img, { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'], Labels: { seed: String(opts.seed ?? 1) } });
  return setCreated(img, opts.created ?? '2024-01-01T00:00:00Z');
}

/** Writes a random image into the store and (optionally) names it. */
export async function addRandomImage(store: Store, name: string | undefined, opts: RandomImageOptions = {}): Promise<{ image: Image; descriptor: Descriptor }> {
  const image = await randomImage(opts);
  const descriptor = await writeImage(store, image);
  if (name !== undefined) await store.tag({ name, descriptor });
  return { image, descriptor };
}
