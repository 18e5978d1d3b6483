// Layer compression in one pass: tar bytes → diffID hash → gzip (Node zlib) or zstd (the zstd CLI)
// → digest hash → the caller's blob sink. And the reverse: decompress by media type or magic.
import { spawn } from 'node:child_process';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, createGunzip, constants as zc } from 'node:zlib';
import { KilnError, toKilnError } from '../errors.js';
import { HashingStream, MediaType, layerCompression, type Compression, type Digest } from '../image/index.js';

/**
 * Where compressed layer bytes go. Either a Writable (ended when the layer is complete) or an
 * ingest callback that consumes the stream it is given and resolves when the bytes are stored
 * (e.g. a content store writing a temp file). Defined here so layer/ needs no store.
 */
export type BlobWriter = Writable | ((stream: Readable) => Promise<unknown>);

export interface CompressOptions {
  compression: Compression;
  /** gzip 1–9 (default 6); zstd 1–19 (default 3). */
  level?: number;
  signal?: AbortSignal;
}

export interface LayerBlob {
  /** Digest of the bytes written to the sink (the compressed blob). */
  digest: Digest;
  /** Digest of the uncompressed tar (the image config's rootfs.diff_ids entry). */
  diffId: Digest;
  /** Size of the compressed blob in bytes. */
  size: number;
  /** Size of the uncompressed tar. */
  uncompressedSize: number;
  /** OCI layer media type for this compression. */
  mediaType: string;
}

const ZSTD = 'zstd';

export function layerMediaType(c: Compression): string {
  return c === 'gzip' ? MediaType.OciLayerGzip : c === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayer;
}

/** A zstd process as a Transform-like duplex: bytes in on stdin, out on stdout. */
function zstdProcess(args: string[], what: string): { input: Writable; output: Readable; done: Promise<void>; kill: () => void } {
  const child = spawn(ZSTD, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e) =>
      reject(new KilnError('IO', `cannot run zstd for ${what}: ${e.message}`, { cause: e, hint: 'install the zstd package (apt-get install zstd)' })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new KilnError(what === 'decompression' ? 'LAYER_INVALID' : 'IO', `zstd ${what} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
  done.catch(() => undefined); // observed by the caller; avoid an unhandled rejection when it already failed
  return { input: child.stdin, output: child.stdout, done, kill: () => child.exitCode === null && child.kill('SIGKILL') };
}

/** Hands the blob to the sink; if the sink fails, destroys the stream so the producers stop too. */
async function sinkOrDestroy(stream: Readable, sink: BlobWriter): Promise<void> {
  try {
    if (typeof sink === 'function') await sink(stream);
    else await pipeline(stream, sink);
  } catch (e) {
    stream.destroy(e instanceof Error ? e : new Error(String(e)));
    throw e;
  }
}

/**
 * Compresses a tar stream once, hashing both sides, and writes the blob to `sink`.
 * gzip output is deterministic (no name, mtime 0), so the same tar always gives the same digest.
 */
export async function layerFromTar(tar: Readable, opts: CompressOptions, sink: BlobWriter): Promise<LayerBlob> {
  const diff = new HashingStream();
  const blob = new HashingStream();
  const level = opts.level;
  const signal = opts.signal;
  if (opts.compression === 'zstd') {
    const lvl = level ?? 3;
    const z = zstdProcess(['-q', '-c', '-T0', `-${lvl}`, ...(lvl > 19 ? ['--ultra'] : [])], 'compression');
    const head = new PassThrough({ highWaterMark: 1 << 20 });
    try {
      await Promise.all([
        pipeline(tar, diff, z.input, { signal }),
        pipeline(z.output, blob, head, { signal }),
        sinkOrDestroy(head, sink),
        z.done,
      ]);
    } catch (e) {
      z.kill(); // never leave zstd blocked on a pipe nobody reads
      tar.destroy();
      throw toKilnError(e);
    }
  } else {
    const head = new PassThrough({ highWaterMark: 1 << 20 });
    const compress =
      opts.compression === 'gzip'
        ? pipeline(tar, diff, createGzip({ level: level ?? 6, memLevel: 8, strategy: zc.Z_DEFAULT_STRATEGY }), blob, head, { signal })
        : pipeline(tar, diff, blob, head, { signal });
    try {
      await Promise.all([compress, sinkOrDestroy(head, sink)]);
    } catch (e) {
      throw toKilnError(e);
    }
  }
  return {
    digest: blob.digest(),
    diffId: diff.digest(),
    size: blob.size(),
    uncompressedSize: diff.size(),
    mediaType: layerMediaType(opts.compression),
  };
}

/** Compression recognised from the first bytes of a blob. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/**
 * The uncompressed tar of a layer blob. The compression comes from the media type when given
 * (and is checked against the magic bytes), else from the magic bytes alone.
 */
export async function decompressLayer(blob: Readable, mediaType?: string): Promise<Readable> {
  const it = blob[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let have = 0;
  while (have < 4) {
    const r = await it.next();
    if (r.done) break;
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    chunks.push(b);
    have += b.length;
  }
  const head = Buffer.concat(chunks);
  const sniffed = sniffCompression(head);
  const declared = mediaType === undefined ? undefined : layerCompression(mediaType);
  if (declared !== undefined && declared !== 'none' && sniffed !== declared) {
    throw new KilnError('LAYER_INVALID', `layer blob is declared ${mediaType} but its bytes are not ${declared}`);
  }
  const c = declared === 'none' && sniffed !== 'none' ? sniffed : (declared ?? sniffed); // docker tolerates compressed "tar" layers
  const source = Readable.from((async function* () {
    if (head.length) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value as Buffer;
    }
  })(), { objectMode: false });
  if (c === 'none') return source;
  // .pipe() (not pipeline) so the consumer sees one wrapped LAYER_INVALID error, not zlib's
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const fail = (e: unknown) => out.destroy(asLayerInvalid(e));
  source.on('error', fail);
  if (c === 'gzip') {
    const gunzip = createGunzip({ chunkSize: 256 << 10 });
    gunzip.on('error', fail);
    source.pipe(gunzip).pipe(out);
    out.on('close', () => {
      source.destroy();
      gunzip.destroy();
    });
    return out;
  }
  const z = zstdProcess(['-d', '-q', '-c'], 'decompression');
  z.input.on('error', fail);
  source.pipe(z.input);
  z.output.pipe(out, { end: false });
  Promise.all([z.done, new Promise((r) => z.output.on('end', r))]).then(() => out.end(), fail);
  out.on('close', () => {
    source.destroy();
    z.input.destroy();
    z.output.destroy();
  });
  return out;
}

function asLayerInvalid(e: unknown): Error {
  if (e instanceof KilnError) return e;
  const m = e instanceof Error ? e.message : String(e);
  return new KilnError('LAYER_INVALID', `layer blob cannot be decompressed: ${m}`, { cause: e });
}
