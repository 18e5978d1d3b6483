// Pull: reference → manifest (through an index for the requested platform) → config and layers,
// fetched concurrently straight into a BlobSink that only keeps bytes matching their digest.
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';
import {
  type Descriptor,
  type Digest,
  type ImageConfig,
  type Index,
  type Manifest,
  type Platform,
  isIndexMediaType,
  isManifestMediaType,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
} from '../image/index.js';
import { downloadBlob } from './blobs.js';
import type { RegistryClient } from './client.js';
import { selectManifest } from './platform.js';
import { type Reference, familiarString, referenceObject } from './reference.js';

/** Where pulled content goes. The content store satisfies this; cli/ wires it. */
export interface BlobSink {
  has(digest: Digest): Promise<boolean>;
  /** The stored blob's size, when the sink can tell: a blob of another size than its descriptor is damaged and fetched again. */
  stat?(digest: Digest): Promise<{ size: number }>;
  /**
   * Stores the stream's bytes if they hash to `expect.digest` and count `expect.size`; otherwise
   * rejects (DIGEST_MISMATCH) and keeps nothing. Resolves with what was stored.
   */
  ingest(stream: Readable, expect: { digest: Digest; size: number }, signal?: AbortSignal): Promise<{ digest: Digest; size: number }>;
}

export interface BlobProgress {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly done: number;
  readonly total: number;
  /** `exists`: already in the sink; `downloading`; `done`. */
  readonly status: 'exists' | 'downloading' | 'done';
}

export interface PullOptions {
  /** `os/arch[/variant]` or a Platform; default: the host's. */
  readonly platform?: string | Platform;
  /**
   * The platform was asked for (`kiln pull --platform`): a single-platform image of another one
   * is an error, as docker pull says. (A base image for a build is taken as it is, as BuildKit does.)
   */
  readonly requirePlatform?: boolean;
  /** Blobs downloaded at once (default 4). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: BlobProgress) => void;
  /**
   * kiln hashes layers as they arrive and fails before the sink sees the end (default true).
   * Pass false when the sink verifies digests itself (the Store does) to skip a second SHA-256
   * pass over every layer. Manifests and the config are always verified.
   */
  readonly verifyLayers?: boolean;
}

export interface PullResult {
  readonly reference: Reference;
  /** What the reference resolved to: the index (multi-platform) or the manifest. */
  readonly root: Descriptor;
  /** The image manifest for the platform, with `platform` set. */
  readonly manifest: Descriptor;
  readonly manifestJson: Manifest;
  readonly config: ImageConfig;
}

/** Whether the sink holds `digest` with `size` bytes (a damaged copy, truncated or replaced, is fetched again). */
async function holds(sink: BlobSink, digest: Digest, size: number): Promise<boolean> {
  if (!(await sink.has(digest))) return false;
  if (sink.stat === undefined) return true;
  try {
    return (await sink.stat(digest)).size === size;
  } catch {
    return false;
  }
}

async function ingestBytes(sink: BlobSink, bytes: Buffer, digest: Digest, signal?: AbortSignal): Promise<void> {
  if (await holds(sink, digest, bytes.length)) return;
  await sink.ingest(Readable.from([bytes], { objectMode: false }), { digest, size: bytes.length }, signal);
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new KilnError('IMAGE_INVALID', `${what} is not valid JSON`);
  }
}

/** Runs `fn` over items with at most `n` in flight; the first failure aborts the rest. */
export async function forEachLimit<T>(items: readonly T[], n: number, fn: (item: T, signal: AbortSignal) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const ctrl = new AbortController();
  const onAbort = (): void => ctrl.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item, ctrl.signal);
      } catch (e) {
        if (failed === undefined) failed = e;
        ctrl.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failed !== undefined) throw failed;
}

/** Pulls `ref` from the registry `client` talks to into `sink`. */
export async function pull(client: RegistryClient, ref: Reference, sink: BlobSink, opts: PullOptions = {}): Promise<PullResult> {
  const name = familiarString(ref);
  const signal = opts.signal;
  const want = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : normalizePlatform(opts.platform ?? hostPlatform());
  const top = await client.getManifest(ref.path, referenceObject(ref), { signal, refName: name });
  const root: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
  let manifestDesc: Descriptor;
  let manifestBytes: Buffer;
  if (isIndexMediaType(top.mediaType) || (top.mediaType === '' && 'manifests' in parseJson<object>(top.bytes, `the index of ${name}`))) {
    const index = parseJson<Index>(top.bytes, `the index of ${name}`);
    if (!Array.isArray(index.manifests)) throw new KilnError('IMAGE_INVALID', `the index of ${name} has no manifests list`);
    const chosen = selectManifest(index.manifests, want, name);
    const m = await client.getManifest(ref.path, chosen.digest, { signal, refName: `${name}@${chosen.digest}` });
    manifestBytes = m.bytes;
    manifestDesc = { ...chosen, mediaType: m.mediaType || chosen.mediaType, size: m.bytes.length };
  } else if (isManifestMediaType(top.mediaType) || top.mediaType === '') {
    manifestBytes = top.bytes;
    manifestDesc = root;
  } else if (top.mediaType.includes('distribution.manifest.v1')) {
    throw new KilnError('IMAGE_INVALID', `image ${name} uses the deprecated Docker schema 1 manifest format, which kiln does not support`, {
      hint: 'push the image again with a current docker or skopeo to convert it to schema 2 / OCI',
    });
  } else {
    throw new KilnError('IMAGE_INVALID', `image ${name} has an unsupported manifest media type ${JSON.stringify(top.mediaType)}`);
  }
  const manifest = parseJson<Manifest>(manifestBytes, `the manifest of ${name}`);
  if (!manifest.config || !Array.isArray(manifest.layers)) throw new KilnError('IMAGE_INVALID', `the manifest of ${name} has no config or layers`);

  // The config is small and needed in memory: fetch it once, verified, then store it.
  const configBytes = await readBlob(client, ref.path, manifest.config, signal);
  const config = parseJson<ImageConfig>(configBytes, `the image config ${manifest.config.digest}`);
  if (opts.requirePlatform && manifestDesc === root && (config.os !== want.os || config.architecture !== want.architecture || (want.variant !== undefined && config.variant !== want.variant))) {
    const actual = [config.os, config.architecture, config.variant].filter((x) => x !== undefined && x !== '').join('/');
    const wanted = [want.os, want.architecture, want.variant].filter((x) => x !== undefined && x !== '').join('/');
    throw new KilnError('PLATFORM_NOT_FOUND', `image with reference ${name} was found but does not match the specified platform: wanted ${wanted}, actual: ${actual}`, {
      hint: 'the image is for one platform only: pull it without --platform, or pull an image built for the one you need',
    });
  }
  const hadConfig = await holds(sink, manifest.config.digest, configBytes.length);
  if (!hadConfig) await sink.ingest(Readable.from([configBytes], { objectMode: false }), { digest: manifest.config.digest, size: configBytes.length }, signal);
  opts.onProgress?.({ digest: manifest.config.digest, mediaType: manifest.config.mediaType, done: configBytes.length, total: configBytes.length, status: hadConfig ? 'exists' : 'done' });

  const seen = new Set<string>();
  const layers = manifest.layers.filter((d) => (seen.has(d.digest) ? false : (seen.add(d.digest), true)));
  await forEachLimit(layers, opts.concurrency ?? 4, async (d, sig) => {
    if (d.urls?.length && d.mediaType.includes('foreign')) return; // foreign layers are not in the registry
    if (await holds(sink, d.digest, d.size)) {
      opts.onProgress?.({ digest: d.digest, mediaType: d.mediaType, done: d.size, total: d.size, status: 'exists' });
      return;
    }
    const stream = downloadBlob(client, ref.path, d, {
      signal: sig,
      verify: opts.verifyLayers !== false,
      onBytes: (done, total) => opts.onProgress?.({ digest: d.digest, mediaType: d.mediaType, done, total, status: 'downloading' }),
    });
    try {
      await sink.ingest(stream, { digest: d.digest, size: d.size }, sig);
    } finally {
      stream.destroy();
    }
    opts.onProgress?.({ digest: d.digest, mediaType: d.mediaType, done: d.size, total: d.size, status: 'done' });
  }, signal);

  // The manifest goes in last, so a store never holds a manifest whose blobs are missing.
  await ingestBytes(sink, manifestBytes, manifestDesc.digest, signal);
  if (root.digest !== manifestDesc.digest) await ingestBytes(sink, top.bytes, top.digest, signal);
  const platform: Platform = manifestDesc.platform ?? {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  };
  return { reference: ref, root, manifest: { ...manifestDesc, platform }, manifestJson: manifest, config };
}

/** A small blob (config) in memory, verified against its digest. */
async function readBlob(client: RegistryClient, path: string, d: Descriptor, signal?: AbortSignal): Promise<Buffer> {
  if (d.size > 64 * 1024 * 1024) throw new KilnError('IMAGE_INVALID', `config blob ${d.digest} is implausibly large (${d.size} bytes)`);
  const chunks: Buffer[] = [];
  for await (const c of downloadBlob(client, path, d, { signal }) as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
