// Layers as re-openable, lazy views (GGCR Layer/Opener): each read opens a fresh stream, digests
// are computed at most once. Decompression is injected so image/ stays free of codecs and I/O.
import { PassThrough, Transform, Writable, addAbortSignal, pipeline } from 'node:stream';
import { KilnError } from '../errors.js';
import { HashingStream, type Digest } from './digest.js';
import { layerCompression, type Compression, type MediaType } from './media-types.js';
import { VerifyingStream } from './verify-stream.js';

export interface Layer {
  readonly mediaType: MediaType;
  /** Digest of the compressed blob (what manifests reference); memoised. */
  digest(): Promise<Digest>;
  /** Digest of the uncompressed tar (what config rootfs.diff_ids lists); memoised. */
  diffId(): Promise<Digest>;
  /** Size of the compressed blob; memoised. */
  size(): Promise<number>;
  /** A fresh stream of the blob per call. */
  compressed(signal?: AbortSignal): Promise<NodeJS.ReadableStream>;
  /** A fresh stream of the uncompressed tar per call. */
  uncompressed(signal?: AbortSignal): Promise<NodeJS.ReadableStream>;
}

/** Opens a fresh stream of some content. */
export type Opener = (signal?: AbortSignal) => Promise<NodeJS.ReadableStream>;

/** Returns a fresh decompressing Transform for the compression (never called for 'none'). */
export type Decompressor = (compression: Compression) => NodeJS.ReadWriteStream;

/** Memoises an async thunk; a rejected attempt is forgotten so a later call can retry. */
export function memo<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    if (p === undefined) {
      p = fn();
      p.catch(() => {
        p = undefined;
      });
    }
    return p;
  };
}

/** Pipes `src` through `transforms`, returning the tail; errors anywhere destroy the tail with them. */
export function pipeThrough(src: NodeJS.ReadableStream, ...transforms: NodeJS.ReadWriteStream[]): NodeJS.ReadableStream {
  if (transforms.length === 0) return src;
  const tail = transforms[transforms.length - 1]!;
  const streams = [src, ...transforms] as unknown as [NodeJS.ReadableStream, ...NodeJS.ReadWriteStream[]];
  (pipeline as unknown as (...a: unknown[]) => void)(...streams, (err: Error | null | undefined) => {
    if (err) (tail as unknown as Transform).destroy(err);
  });
  return tail;
}

/** Reads a stream to the end, returning its digest and size (nothing is buffered). */
export function hashStream(src: NodeJS.ReadableStream, algorithm: 'sha256' | 'sha512' = 'sha256'): Promise<{ digest: Digest; size: number }> {
  return new Promise((resolve, reject) => {
    const h = new HashingStream(algorithm);
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    (pipeline as unknown as (...a: unknown[]) => void)(src, h, sink, (err: Error | null | undefined) => {
      if (err) reject(err);
      else resolve({ digest: h.digest(), size: h.size() });
    });
  });
}

export interface OpenerLayerOptions {
  readonly mediaType: MediaType;
  /** Opens the compressed blob. */
  readonly open: Opener;
  /** Needed for uncompressed()/diffId() of compressed media types. */
  readonly decompress?: Decompressor;
  /** Known values (e.g. from a manifest and config). A known digest/size is verified on every read. */
  readonly digest?: Digest;
  readonly size?: number;
  readonly diffId?: Digest;
  /** The opener already verifies what it returns against `digest` (e.g. the store): skip our check. */
  readonly openerVerifies?: boolean;
}

/** A layer over an opener of its compressed bytes. */
export function layerFromOpener(o: OpenerLayerOptions): Layer {
  const compression = layerCompression(o.mediaType);
  const compressed = async (signal?: AbortSignal): Promise<NodeJS.ReadableStream> => {
    signal?.throwIfAborted();
    let s = await o.open(signal);
    if (o.digest !== undefined && !o.openerVerifies) s = pipeThrough(s, new VerifyingStream(o.digest, o.size, `layer ${o.digest}`));
    if (signal) addAbortSignal(signal, s as unknown as Transform);
    return s;
  };
  const uncompressed = async (signal?: AbortSignal): Promise<NodeJS.ReadableStream> => {
    const src = await compressed(signal);
    if (compression === 'none') return src;
    if (!o.decompress) {
      (src as unknown as Transform).destroy();
      throw new KilnError('INTERNAL', `layer ${o.digest ?? o.mediaType}: no decompressor for ${compression}`);
    }
    return pipeThrough(src, o.decompress(compression));
  };
  const compressedInfo = memo(async () => hashStream(await compressed()));
  const digest = o.digest !== undefined ? () => Promise.resolve(o.digest!) : memo(async () => (await compressedInfo()).digest);
  const size = o.size !== undefined ? () => Promise.resolve(o.size!) : memo(async () => (await compressedInfo()).size);
  const diffId =
    o.diffId !== undefined
      ? () => Promise.resolve(o.diffId!)
      : compression === 'none'
        ? digest
        : memo(async () => (await hashStream(await uncompressed())).digest);
  return { mediaType: o.mediaType, digest, size, diffId, compressed, uncompressed };
}

/** A layer held in memory (tests, tiny generated layers). */
export function layerFromBytes(mediaType: MediaType, bytes: Uint8Array, decompress?: Decompressor): Layer {
  const buf = Buffer.from(bytes);
  return layerFromOpener({
    mediaType,
    open: async () => {
      const s = new PassThrough();
      s.end(buf);
      return s;
    },
    ...(decompress ? { decompress } : {}),
  });
}

/**
 * The same bytes under another media type, e.g. an OCI gzip layer labelled as a Docker layer
 * (`application/vnd.docker.image.rootfs.diff.tar.gzip`) to append it to a Docker-format image.
 * The compression of both types must agree.
 */
export function withMediaType(layer: Layer, mediaType: MediaType): Layer {
  if (layerCompression(mediaType) !== layerCompression(layer.mediaType)) {
    throw new KilnError('INTERNAL', `cannot relabel a ${layerCompression(layer.mediaType)} layer as ${mediaType}`);
  }
  return {
    mediaType,
    digest: () => layer.digest(),
    diffId: () => layer.diffId(),
    size: () => layer.size(),
    compressed: (signal) => layer.compressed(signal),
    uncompressed: (signal) => layer.uncompressed(signal),
  };
}
