// Push: blobs (skipped when present, mounted from a sibling repository when hinted, else uploaded),
// then the config, then each manifest, then the top manifest or index under the tag.
import { KilnError } from '../errors.js';
import { type Descriptor, type Digest, type Index, type Manifest, isIndexMediaType, isManifestMediaType, sha256 } from '../image/index.js';
import { type UploadOutcome, uploadBlob } from './blobs.js';
import type { RegistryClient } from './client.js';
import { forEachLimit } from './pull.js';
import { type Reference, familiarString, referenceObject } from './reference.js';

/** Where pushed content comes from. The content store satisfies this; cli/ wires it. */
export interface BlobSource {
  /** A fresh stream of the blob's bytes (called again when an upload is retried). */
  open(digest: Digest, signal?: AbortSignal): Promise<NodeJS.ReadableStream>;
}

export interface PushProgress {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly done: number;
  readonly total: number;
  readonly status: 'pushing' | UploadOutcome;
}

export interface PushOptions {
  /** Blobs uploaded at once (default 4). */
  readonly concurrency?: number;
  /** Repositories (paths) on the same registry that may already hold the blobs: mount from them. */
  readonly mountFrom?: readonly string[];
  /** Blobs at least this large are uploaded in chunks (default 256 MiB). */
  readonly chunkThreshold?: number;
  readonly chunkSize?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: PushProgress) => void;
}

export interface PushResult {
  /** Digest of what the tag now points to (manifest or index). */
  readonly digest: Digest;
  readonly descriptor: Descriptor;
  readonly blobs: readonly { digest: Digest; outcome: UploadOutcome }[];
}

async function readSmall(source: BlobSource, d: Descriptor, signal?: AbortSignal): Promise<Buffer> {
  if (d.size > 4 * 1024 * 1024) throw new KilnError('IMAGE_INVALID', `manifest ${d.digest} is larger than 4 MiB`);
  const chunks: Buffer[] = [];
  for await (const c of (await source.open(d.digest, signal)) as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  const bytes = Buffer.concat(chunks);
  if (sha256(bytes) !== d.digest) throw new KilnError('DIGEST_MISMATCH', `local manifest ${d.digest} does not match its digest`);
  return bytes;
}

/** Pushes the image `root` (a manifest or an index) from `source` to `ref` on `client`'s registry. */
export async function push(client: RegistryClient, ref: Reference, root: Descriptor, source: BlobSource, opts: PushOptions = {}): Promise<PushResult> {
  const signal = opts.signal;
  const outcomes: { digest: Digest; outcome: UploadOutcome }[] = [];
  const pushed = new Set<string>();

  const pushBlobs = async (descs: readonly Descriptor[]): Promise<void> => {
    const todo = descs.filter((d) => !pushed.has(d.digest) && !(d.urls?.length && d.mediaType.includes('foreign')));
    for (const d of todo) pushed.add(d.digest);
    await forEachLimit(todo, opts.concurrency ?? 4, async (d, sig) => {
      const outcome = await uploadBlob(client, ref.path, d, () => source.open(d.digest, sig), {
        signal: sig,
        ...(opts.mountFrom ? { mountFrom: opts.mountFrom } : {}),
        ...(opts.chunkThreshold !== undefined ? { chunkThreshold: opts.chunkThreshold } : {}),
        ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
        onBytes: (done, total) => opts.onProgress?.({ digest: d.digest, mediaType: d.mediaType, done, total, status: 'pushing' }),
      });
      outcomes.push({ digest: d.digest, outcome });
      opts.onProgress?.({ digest: d.digest, mediaType: d.mediaType, done: d.size, total: d.size, status: outcome });
    }, signal);
  };

  const pushManifest = async (d: Descriptor, bytes: Buffer, reference: string): Promise<Digest> => {
    const m = JSON.parse(bytes.toString('utf8')) as Manifest;
    if (!m.config || !Array.isArray(m.layers)) throw new KilnError('IMAGE_INVALID', `manifest ${d.digest} has no config or layers`);
    // layers first, config next, manifest last: a registry never sees a manifest with missing blobs
    await pushBlobs(m.layers);
    await pushBlobs([m.config]);
    return client.putManifest(ref.path, reference, m.mediaType ?? d.mediaType, bytes, signal);
  };

  const rootBytes = await readSmall(source, root, signal);
  const tagOrDigest = ref.tag !== undefined && ref.digest === undefined ? ref.tag : referenceObject(ref);
  if (ref.digest !== undefined && ref.digest !== root.digest) {
    throw new KilnError('REFERENCE_INVALID', `cannot push ${root.digest} as ${familiarString(ref)}: the reference names another digest`);
  }
  let digest: Digest;
  if (isIndexMediaType(root.mediaType)) {
    const index = JSON.parse(rootBytes.toString('utf8')) as Index;
    for (const child of index.manifests) {
      if (!isManifestMediaType(child.mediaType)) {
        throw new KilnError('IMAGE_INVALID', `index ${root.digest} lists ${child.digest} of unsupported media type ${child.mediaType}`);
      }
      const bytes = await readSmall(source, child, signal);
      await pushManifest(child, bytes, child.digest);
    }
    digest = await client.putManifest(ref.path, tagOrDigest, root.mediaType, rootBytes, signal);
  } else if (isManifestMediaType(root.mediaType)) {
    digest = await pushManifest(root, rootBytes, tagOrDigest);
  } else {
    throw new KilnError('IMAGE_INVALID', `cannot push ${root.digest}: media type ${root.mediaType} is neither a manifest nor an index`);
  }
  return { digest, descriptor: { mediaType: root.mediaType, digest, size: rootBytes.length }, blobs: outcomes };
}
