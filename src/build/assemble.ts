// The target stage → an image in the store. Base-image layers are reused as they are (same blobs,
// media types mapped to OCI); each filesystem-changing step of the target's stage chain becomes a
// layer from its snapshot diff (written once, then remembered in the cache record). A step that
// changed nothing still gets a layer (an empty tar): Docker 26's BuildKit keeps one for every
// RUN, COPY, ADD and WORKDIR (empty_layer comes only from the instruction, set by plan/).
import { Readable } from 'node:stream';
import {
  MediaType,
  buildConfig,
  buildManifest,
  canonicalJson,
  sha256,
  type Descriptor,
  type Digest,
  type History,
  type ImageConfig,
} from '../image/index.js';
import { KilnError, isKilnError, type SourceRange } from '../errors.js';
import { layerFromTar, writeChanges } from '../layer/index.js';
import type { Snapshotter } from '../snapshot/index.js';
import { cacheKey, type BuildCache, type LayerRecord } from './cache.js';
import type { BlobStore } from './ports.js';

/** One link in the chain of what the final image is made of, oldest first. */
export type ImagePart =
  | { readonly kind: 'base-layer'; readonly descriptor: Descriptor; readonly diffId: Digest }
  | {
      readonly kind: 'step';
      readonly cacheKey: string;
      readonly snapshot: string;
      readonly history: History;
      /** Where the step is: an error while writing its layer names it, as the step's own errors do. */
      readonly at?: { readonly location: SourceRange; readonly stage: string; readonly sourceLines?: readonly string[] };
    }
  | { readonly kind: 'history'; readonly history: History }
  /** A base image's own history entry, kept verbatim (re-stamped only under SOURCE_DATE_EPOCH). */
  | { readonly kind: 'base-history'; readonly history: History };

export interface AssembledImage {
  readonly manifestDigest: Digest;
  readonly manifestSize: number;
  readonly configDigest: Digest;
  readonly manifest: Buffer;
  readonly config: Buffer;
  /** Per layer: size (compressed) and the history line that made it. */
  readonly layers: readonly { readonly descriptor: Descriptor; readonly createdBy: string; readonly uncompressedSize?: number }[];
}

/** Layers written at once (assembleImage). */
const LAYER_JOBS = 4;

const DOCKER_TO_OCI: Readonly<Record<string, string>> = {
  [MediaType.DockerLayer]: MediaType.OciLayerGzip,
  [MediaType.DockerForeignLayer]: MediaType.OciLayerNondistributableGzip,
};

export async function assembleImage(
  parts: readonly ImagePart[],
  baseConfig: ImageConfig,
  deps: { store: BlobStore; snapshotter: Snapshotter; cache: BuildCache },
  opts: { compression: 'gzip' | 'zstd'; created: string; sourceDateEpoch?: number; signal: AbortSignal },
  onLayer?: (createdBy: string) => void,
): Promise<AssembledImage> {
  const layers: Descriptor[] = [];
  const diffIds: Digest[] = [];
  const history: History[] = [];
  const report: { descriptor: Descriptor; createdBy: string; uncompressedSize?: number }[] = [];
  let emptyTar: Promise<LayerRecord> | undefined;

  // The steps' layers are independent: written a few at a time (a tar pack, a gzip on the
  // thread pool and two fsyncs each), then taken in order. 17 small layers of many-layers took
  // ~90 ms one after the other.
  const made = layersInParallel(parts, (p) =>
    stepLayer(p, deps, opts, onLayer).catch((e: unknown) => {
      throw isKilnError(e) && p.at !== undefined && e.details.location === undefined
        ? e.with({ location: [p.at.location], stage: p.at.stage, ...(p.at.sourceLines ? { sourceLines: p.at.sourceLines } : {}) })
        : e;
    }),
  );
  try {
    for (const [i, p] of parts.entries()) {
      if (p.kind === 'base-layer') {
        if (!(await blobIntact(deps.store, p.descriptor.digest, p.descriptor.size))) {
          throw new KilnError('STORE_CORRUPT', `base image layer ${p.descriptor.digest} is missing or damaged in the store (its size is not ${p.descriptor.size})`, {
            hint: 'pull the base image again (`kiln pull NAME` replaces a damaged blob); `kiln store verify` lists what else is damaged',
          });
        }
        const desc: Descriptor = { ...p.descriptor, mediaType: DOCKER_TO_OCI[p.descriptor.mediaType] ?? p.descriptor.mediaType };
        layers.push(desc);
        diffIds.push(p.diffId);
        report.push({ descriptor: desc, createdBy: '(base image)' });
        continue;
      }
      if (p.kind === 'base-history') {
        history.push(opts.sourceDateEpoch === undefined ? p.history : { ...p.history, created: opts.created });
        continue;
      }
      // SOURCE_DATE_EPOCH: every time is the epoch, whatever the cache remembers.
      const entry = opts.sourceDateEpoch === undefined ? p.history : { ...p.history, created: opts.created };
      if (p.kind === 'history') {
        history.push(stamp(entry, opts.created, true));
        continue;
      }
      const step = await made.get(i);
      const { uncompressedSize } = step;
      let layer = step.layer;
      if ('empty' in layer) {
        // BuildKit's exporter gives an unchanged step a layer all the same (e.g. RUN true, a COPY
        // whose wildcard matched nothing, WORKDIR of an existing directory): not empty_layer.
        emptyTar ??= emptyLayer(deps.store, opts);
        layer = await emptyTar;
      }
      const desc: Descriptor = { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
      layers.push(desc);
      diffIds.push(layer.diffId);
      history.push(stamp(entry, opts.created, false));
      report.push(uncompressedSize === undefined ? { descriptor: desc, createdBy: p.history.created_by ?? '' } : { descriptor: desc, createdBy: p.history.created_by ?? '', uncompressedSize });
    }

    const config = buildConfig({
      ...baseConfig,
      created: opts.created,
      rootfs: { type: 'layers', diff_ids: diffIds },
      history,
    });
    const configBytes = canonicalJson(config);
    const configDigest = sha256(configBytes);
    await deps.store.ingestBytes(configBytes, { digest: configDigest, size: configBytes.length });
    const manifest = buildManifest({
      format: 'oci',
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configBytes.length },
      layers,
    });
    const manifestBytes = canonicalJson(manifest);
    const manifestDigest = sha256(manifestBytes);
    await deps.store.ingestBytes(manifestBytes, { digest: manifestDigest, size: manifestBytes.length });
    return { manifestDigest, manifestSize: manifestBytes.length, configDigest, manifest: manifestBytes, config: configBytes, layers: report };
  } finally {
    await made.stop();
  }
}

type StepPart = Extract<ImagePart, { kind: 'step' }>;
type Made = Awaited<ReturnType<typeof stepLayer>>;

/**
 * Makes the layers of the step parts with LAYER_JOBS workers, in part order; `get(i)` waits
 * for part i's. `stop()` lets no new layer start and waits for those under way (after a failure,
 * nothing keeps writing once the build has returned).
 */
function layersInParallel(parts: readonly ImagePart[], make: (p: StepPart) => Promise<Made>): { get(i: number): Promise<Made>; stop(): Promise<void> } {
  const queue = parts.flatMap((p, i) => (p.kind === 'step' ? [i] : []));
  const settled = new Map<number, { resolve: (m: Made) => void; reject: (e: unknown) => void; promise: Promise<Made> }>();
  for (const i of queue) {
    let resolve!: (m: Made) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<Made>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined); // reported when its turn comes in get()
    settled.set(i, { resolve, reject, promise });
  }
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && next < queue.length) {
      const i = queue[next++]!;
      const d = settled.get(i)!;
      try {
        d.resolve(await make(parts[i] as StepPart));
      } catch (e) {
        d.reject(e);
      }
    }
  };
  const workers = Array.from({ length: Math.min(LAYER_JOBS, queue.length) }, worker);
  return {
    get: (i) => settled.get(i)!.promise,
    stop: async () => {
      stopped = true;
      await Promise.allSettled(workers);
    },
  };
}

/** The layer of a step that changed nothing: an empty tar (its 1024-byte end-of-archive), compressed. */
async function emptyLayer(store: BlobStore, opts: { compression: 'gzip' | 'zstd'; signal: AbortSignal }): Promise<LayerRecord> {
  const tar = Readable.from([Buffer.alloc(1024)]);
  const blob = await layerFromTar(tar, { compression: opts.compression, signal: opts.signal }, (s: Readable) => store.ingest(s, undefined, opts.signal));
  return { digest: blob.digest, diffId: blob.diffId, size: blob.size, mediaType: blob.mediaType };
}

/** The name of the cache record holding a step's layer, per way of writing it (see stepLayer). */
export function layerRecordName(stepKey: string, snapshot: string, sourceDateEpoch: number | undefined, compression: 'gzip' | 'zstd'): string {
  return `layer-${cacheKey({ step: stepKey, snapshot, sde: sourceDateEpoch ?? null, compression, xattrs: 'capability' })}`;
}

/** Whether the store holds `digest` with the recorded size: a cheap check (no hashing) that catches a truncated or replaced blob. */
async function blobIntact(store: BlobStore, digest: Digest, size: number): Promise<boolean> {
  if (!(await store.has(digest))) return false;
  try {
    return (await store.stat(digest)).size === size;
  } catch {
    return false;
  }
}

/**
 * A step's layer blob (in the store) from its snapshot diff, written once and remembered in the
 * cache; `{ empty: true }` when the step changed nothing. Also used by the cache export
 * (remote-cache.ts) for steps of intermediate stages, which never go into an image.
 */
export async function stepLayer(
  p: { readonly cacheKey: string; readonly snapshot: string; readonly history?: History },
  deps: { store: BlobStore; snapshotter: Snapshotter; cache: BuildCache },
  opts: { compression: 'gzip' | 'zstd'; sourceDateEpoch?: number; signal: AbortSignal },
  onLayer?: (createdBy: string) => void,
): Promise<{ layer: LayerRecord | { empty: true }; uncompressedSize?: number }> {
  // A step's layer depends on how it is written (mtime clamp, compression): cache it per variant.
  // The snapshot is part of it: a step re-run (--no-cache) under the same key makes a new layer.
  const layerKey = layerRecordName(p.cacheKey, p.snapshot, opts.sourceDateEpoch, opts.compression);
  const rec = deps.cache.get(layerKey);
  let layer: LayerRecord | { empty: true } | undefined = rec?.layer;
  // a blob that is gone, or of another size than recorded (damaged), is packed again
  if (layer && !('empty' in layer) && !(await blobIntact(deps.store, layer.digest, layer.size))) layer = undefined;
  if (layer) return { layer };
  let uncompressedSize: number | undefined;
  onLayer?.(p.history?.created_by ?? '');
  const diff = await deps.snapshotter.diff(p.snapshot);
  if (diff.changes.length === 0) {
    layer = { empty: true };
  } else {
    // only security.capability among the xattrs, as in BuildKit's layers
    const tar = writeChanges(diff.root, diff.changes, { xattrs: 'capability', ...(opts.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: opts.sourceDateEpoch }) });
    const blob = await layerFromTar(tar, { compression: opts.compression, signal: opts.signal }, (s: Readable) => deps.store.ingest(s, undefined, opts.signal));
    layer = { digest: blob.digest, diffId: blob.diffId, size: blob.size, mediaType: blob.mediaType };
    uncompressedSize = blob.uncompressedSize;
  }
  deps.cache.put(layerKey, { snapshot: p.snapshot, layer, created: new Date().toISOString() });
  return uncompressedSize === undefined ? { layer } : { layer, uncompressedSize };
}

/** A history entry with its time (the step's own when it has one, else the image's) and layer flag. */
function stamp(h: History, created: string, empty: boolean): History {
  const out: { -readonly [K in keyof History]: History[K] } = { created, ...h };
  out.created = h.created ?? created;
  if (empty) out.empty_layer = true;
  else delete out.empty_layer;
  return out;
}
