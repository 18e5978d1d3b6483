// The shared build cache (`--cache-to` / `--cache-from`): the export format and both directions.
// An export is one OCI image manifest whose config (CACHE_CONFIG_MEDIA_TYPE) lists per step its
// cache key, its parent's key, where it sits (stage, step) and its layer, and whose layers are the
// steps' layer blobs (the very blobs the image uses). Keys are machine-independent (content
// digests, never paths or snapshot ids), so a runner that computes key K locally and misses can
// take K's layer from an imported cache, apply it on its own parent snapshot and go on as a hit.
// Moving the artifact to/from a registry or an OCI layout is remote-cache-io.ts.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { KilnError } from '../errors.js';
import { MediaType, canonicalJson, sha256, type Descriptor, type Digest } from '../image/index.js';
import { applyLayer, decompressLayer } from '../layer/index.js';
import type { BuildPlan } from '../plan/index.js';
import type { SnapshotId, Snapshotter } from '../snapshot/index.js';
import { layerRecordName, stepLayer } from './assemble.js';
import { BuildCache, type LayerRecord } from './cache.js';
import type { BuildResult } from './engine.js';
import type { BlobStore, RemoteStepSource } from './ports.js';

export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.kiln.cache.config.v1+json';

/** One step in an exported cache. */
export interface RemoteCacheRecord {
  /** The step's cache key (hex sha256, as the engine computes it). */
  readonly key: string;
  /** The key of what the step ran on (previous step, base image, base stage). */
  readonly parentKey: string;
  /** Set on a stage's first step: `image@sha256:…`, `scratch` or `stage:NAME`. */
  readonly base?: string;
  readonly stage: string;
  /** 0-based index among the stage's filesystem steps (RUN, COPY, ADD, WORKDIR). */
  readonly step: number;
  /** The instruction as shown in the progress output (for people reading the config). */
  readonly display: string;
  /** The step's layer blob; absent when the step changed no file. */
  readonly layer?: LayerRecord;
  readonly created: string;
}

export interface RemoteCacheConfig {
  readonly schemaVersion: 1;
  readonly mediaType: typeof CACHE_CONFIG_MEDIA_TYPE;
  readonly mode: 'min' | 'max';
  /** SOURCE_DATE_EPOCH the layers were written with (file mtimes are clamped to it), or null. */
  readonly sourceDateEpoch: number | null;
  readonly records: readonly RemoteCacheRecord[];
}

/** An export ready to be written: manifest and config bytes, and the layer blobs (in the store). */
export interface CacheArtifact {
  readonly manifest: Buffer;
  readonly manifestDigest: Digest;
  readonly config: Buffer;
  readonly configDescriptor: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly records: number;
}

/** A cache read with --cache-from: its config and a way to fetch a layer blob. */
export interface LoadedCache {
  /** How users name it: `registry cache 127.0.0.1:5000/cache:main`, `local cache /tmp/cache`. */
  readonly name: string;
  readonly config: RemoteCacheConfig;
  fetch(desc: Descriptor, signal: AbortSignal, onBytes?: (done: number, total: number) => void): Promise<NodeJS.ReadableStream>;
}

const KEY_RE = /^[0-9a-f]{64}$/;

/** Parses and checks a cache config blob (anything unexpected: IMAGE_INVALID naming the cache). */
export function parseCacheConfig(bytes: Buffer, name: string): RemoteCacheConfig {
  let j: Partial<RemoteCacheConfig>;
  try {
    j = JSON.parse(bytes.toString('utf8')) as Partial<RemoteCacheConfig>;
  } catch {
    throw new KilnError('IMAGE_INVALID', `${name}: the cache config is not valid JSON`);
  }
  if (j.schemaVersion !== 1 || j.mediaType !== CACHE_CONFIG_MEDIA_TYPE || !Array.isArray(j.records)) {
    throw new KilnError('IMAGE_INVALID', `${name}: not a kiln cache config (schemaVersion 1, ${CACHE_CONFIG_MEDIA_TYPE})`);
  }
  for (const r of j.records) {
    const ok = typeof r === 'object' && r !== null && KEY_RE.test(String(r.key)) && typeof r.parentKey === 'string' && typeof r.created === 'string'
      && (r.layer === undefined || (typeof r.layer.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(r.layer.digest) && typeof r.layer.diffId === 'string' && Number.isSafeInteger(r.layer.size) && typeof r.layer.mediaType === 'string'));
    if (!ok) throw new KilnError('IMAGE_INVALID', `${name}: a record is malformed (${JSON.stringify(r).slice(0, 120)})`);
  }
  return j as RemoteCacheConfig;
}

export interface ExportDeps {
  readonly store: BlobStore;
  readonly snapshotter: Snapshotter;
  readonly stateDir: string;
}

/**
 * The cache export of a finished build. mode=min: the steps whose layers make up the target image
 * (its stage and the stages it is based on); mode=max: every step of every stage built, whose
 * layers are written here (intermediate stages never get one otherwise) but never go into the image.
 */
export async function collectCache(
  plan: BuildPlan,
  result: BuildResult,
  mode: 'min' | 'max',
  deps: ExportDeps,
  opts: { compression: 'gzip' | 'zstd'; sourceDateEpoch?: number; signal: AbortSignal },
): Promise<CacheArtifact> {
  const cache = new BuildCache(deps.stateDir);
  const inImage = new Set<string>();
  for (const p of result.target.parts) if (p.kind === 'step') inImage.add(p.cacheKey);
  const built = new Set(result.stages.map((s) => s.name));
  const records: RemoteCacheRecord[] = [];
  const seen = new Set<string>();
  const layers: Descriptor[] = [];
  const layerSeen = new Set<string>();
  // decisions come in stage order and step order: the n-th decision of a stage is its step n
  const nth = new Map<string, number>();
  for (const d of result.decisions) {
    const step = nth.get(d.stage) ?? 0;
    nth.set(d.stage, step + 1);
    if (!built.has(d.stage) || seen.has(d.key)) continue;
    if (mode === 'min' && !inImage.has(d.key)) continue;
    const rec = cache.get(d.key);
    if (!rec || rec.snapshot === null) throw new KilnError('INTERNAL', `cache export: step ${d.display} has no cache record`);
    seen.add(d.key);
    const { layer } = await stepLayer({ cacheKey: d.key, snapshot: rec.snapshot }, { store: deps.store, snapshotter: deps.snapshotter, cache }, opts);
    const ps = plan.stages.find((s) => s.name === d.stage);
    const base = step !== 0 || !ps ? undefined : ps.base.kind === 'image' ? `image@${ps.base.image.digest}` : ps.base.kind === 'scratch' ? 'scratch' : ps.base.kind === 'local' ? `context:${ps.base.name}` : `stage:${plan.stages.find((s) => s.index === (ps.base as { stage: number }).stage)?.name ?? '?'}`;
    records.push({
      key: d.key,
      parentKey: d.inputs.parent,
      ...(base !== undefined ? { base } : {}),
      stage: d.stage,
      step,
      display: d.display,
      ...('empty' in layer ? {} : { layer: { digest: layer.digest, diffId: layer.diffId, size: layer.size, mediaType: layer.mediaType } }),
      created: rec.created,
    });
    if (!('empty' in layer) && !layerSeen.has(layer.digest)) {
      layerSeen.add(layer.digest);
      layers.push({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size });
    }
  }
  const config: RemoteCacheConfig = { schemaVersion: 1, mediaType: CACHE_CONFIG_MEDIA_TYPE, mode, sourceDateEpoch: opts.sourceDateEpoch ?? null, records };
  const configBytes = canonicalJson(config);
  const configDescriptor: Descriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256(configBytes), size: configBytes.length };
  const manifest = canonicalJson({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDescriptor, layers });
  return { manifest, manifestDigest: sha256(manifest), config: configBytes, configDescriptor, layers, records: records.length };
}

/**
 * The engine's hook into the imported caches: on a local miss for key K, the first imported
 * record with key K is applied on the parent snapshot (blob fetched into the store and verified by
 * it), and a layer record is written so the image export reuses the blob instead of re-packing.
 */
export class ImportedCaches implements RemoteStepSource {
  private readonly index = new Map<string, { rec: RemoteCacheRecord; src: LoadedCache }>();
  private readonly cache: BuildCache;

  constructor(
    sources: readonly LoadedCache[],
    private readonly deps: ExportDeps & { warn: (message: string) => void },
    private readonly opts: { compression: 'gzip' | 'zstd'; sourceDateEpoch?: number },
  ) {
    this.cache = new BuildCache(deps.stateDir);
    for (const src of sources) {
      for (const rec of src.config.records) if (!this.index.has(rec.key)) this.index.set(rec.key, { rec, src });
    }
  }

  get size(): number {
    return this.index.size;
  }

  async restore(key: string, parent: SnapshotId | null, signal: AbortSignal, onBytes?: (digest: string, done: number, total: number) => void): Promise<{ snapshot: SnapshotId; created: string; from: string } | undefined> {
    const hit = this.index.get(key);
    if (!hit) return undefined;
    const { rec, src } = hit;
    const layer = rec.layer;
    try {
      if (layer && !(await this.deps.store.has(layer.digest))) {
        await this.deps.store.ingest(await src.fetch({ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, signal, onBytes && ((done, total) => onBytes(layer.digest, done, total))), { digest: layer.digest, size: layer.size }, signal);
      }
    } catch (e: unknown) {
      if (signal.aborted || (e instanceof KilnError && e.code === 'ABORTED')) throw e;
      // a cache is an optimisation: a blob that cannot be fetched means the step runs
      this.index.delete(key);
      this.deps.warn(`${src.name}: cannot fetch the layer of ${rec.display} (${e instanceof Error ? e.message : String(e)}); running the step`);
      return undefined;
    }
    let snapshot: SnapshotId;
    try {
      snapshot = await this.deps.snapshotter.importLayer(
        parent,
        async (dir, whiteoutMode, sig) => {
          if (!layer) return;
          const blob = await this.deps.store.open(layer.digest, sig);
          const tar = await decompressLayer(Readable.from(blob as AsyncIterable<Buffer>), layer.mediaType);
          // the record's diffId goes into image configs: it must be what the blob holds
          const h = createHash('sha256');
          const hashed = Readable.from((async function* () {
            for await (const c of tar as AsyncIterable<Buffer>) {
              h.update(c);
              yield c;
            }
          })(), { objectMode: false });
          await applyLayer(hashed, dir, { whiteouts: whiteoutMode, signal: sig });
          const diffId = `sha256:${h.digest('hex')}`;
          if (diffId !== layer.diffId) throw new KilnError('DIGEST_MISMATCH', `layer ${layer.digest} uncompresses to ${diffId}, but the cache record says ${layer.diffId}`);
        },
        signal,
      );
    } catch (e: unknown) {
      if (signal.aborted || (e instanceof KilnError && e.code === 'ABORTED')) throw e;
      this.index.delete(key);
      this.deps.warn(`${src.name}: cannot apply the layer of ${rec.display} (${e instanceof Error ? e.message : String(e)}); running the step`);
      return undefined;
    }
    // The blob is what this build would write only if it was written the same way.
    const compression = layer?.mediaType.endsWith('+zstd') ? 'zstd' : 'gzip';
    if (src.config.sourceDateEpoch === (this.opts.sourceDateEpoch ?? null) && (!layer || compression === this.opts.compression)) {
      this.cache.put(layerRecordName(key, snapshot, this.opts.sourceDateEpoch, this.opts.compression), { snapshot, layer: layer ?? { empty: true }, created: new Date().toISOString() });
    }
    return { snapshot, created: rec.created, from: `from the ${src.name}` };
  }
}
