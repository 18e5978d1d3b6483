// Final image size, measured the same way for every builder: the builder saves the image as a
// docker-archive (kiln save, docker save, podman save --format docker-archive: all hold
// UNCOMPRESSED layer tars); uncompressed = sum of those layer tars; compressed = sum of each
// layer gzipped at level 6 (what a push of an uncompressed store sends), cached by diffID, so
// the compressed column does not depend on a builder's choice of gzip level. For kiln the
// store's own compressed blob sizes are recorded too (`storeCompressedBytes`).
import { createReadStream, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { runOk } from './proc.js';

export interface ImageSize {
  readonly layers: number;
  readonly uncompressedBytes: number;
  readonly compressedBytes: number;
}

const gzCache = new Map<string, number>();

async function gzipSize(file: string): Promise<number> {
  let n = 0;
  await pipeline(createReadStream(file), createGzip({ level: 6 }), new Writable({ write(c: Buffer, _e, cb) { n += c.length; cb(); } }));
  return n;
}

/** Sizes of the image in a docker-archive tar (extracted to a scratch dir next to it). */
export async function archiveSize(tar: string): Promise<ImageSize> {
  const dir = `${tar}.d`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    await runOk('tar', ['-xf', tar, '-C', dir]);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Array<{ Config: string; Layers: string[] }>;
    const m = manifest[0];
    if (m === undefined) throw new Error(`${tar}: empty manifest.json`);
    const config = JSON.parse(readFileSync(join(dir, m.Config), 'utf8')) as { rootfs?: { diff_ids?: string[] } };
    const diffIds = config.rootfs?.diff_ids ?? [];
    let u = 0;
    let c = 0;
    for (let i = 0; i < m.Layers.length; i++) {
      const f = join(dir, m.Layers[i]!);
      u += statSync(f).size;
      const key = diffIds[i] ?? `${f}:${statSync(f).size}`;
      let gz = gzCache.get(key);
      if (gz === undefined) {
        gz = await gzipSize(f);
        gzCache.set(key, gz);
      }
      c += gz;
    }
    return { layers: m.Layers.length, uncompressedBytes: u, compressedBytes: c };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
