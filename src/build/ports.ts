// What the build engine needs from the outside, as small interfaces defined here (cli wires the
// concrete Store, snapshotter, runc runtime and image source; tests may pass their own).
import type { Digest, Manifest } from '../image/index.js';
import type { ResolvedImage } from '../plan/index.js';
import type { SnapshotId, Snapshotter } from '../snapshot/index.js';
import type { Runtime } from '../exec/index.js';
import type { IgnoreMatcher } from '../context/index.js';
import type { ProgressEmitter } from '../progress/index.js';

/** The subset of store/'s Store the engine uses. */
export interface BlobStore {
  has(d: Digest): Promise<boolean>;
  stat(d: Digest): Promise<{ size: number }>;
  open(d: Digest, signal?: AbortSignal): Promise<NodeJS.ReadableStream>;
  readBytes(d: Digest, max?: number): Promise<Buffer>;
  ingest(src: NodeJS.ReadableStream, expect?: { digest: Digest; size?: number }, signal?: AbortSignal): Promise<{ digest: Digest; size: number }>;
  ingestBytes(data: Uint8Array, expect?: { digest: Digest; size?: number }): Promise<{ digest: Digest; size: number }>;
}

/**
 * Makes sure a resolved base image's manifest and layer blobs are in the store (pulling what is
 * missing) and returns its manifest. Layers may be fetched lazily by the implementation.
 */
export type EnsureImage = (image: ResolvedImage, signal: AbortSignal) => Promise<Manifest>;

export interface BuildDeps {
  readonly store: BlobStore;
  readonly snapshotter: Snapshotter;
  readonly runtime: Runtime;
  readonly ensureImage: EnsureImage;
  /** Directory for the engine's own state (cache records, cache mounts, heredoc files). */
  readonly stateDir: string;
  readonly contextDir: string;
  /**
   * The context came on standard input or from a URL (`kiln build - < ctx.tar`,
   * `kiln build https://host/ctx.tar.gz`), extracted for this build only. BuildKit reads such a context as a filesystem state: COPY and bind mounts keep the owners the
   * archive gave, and nothing is remembered by its (temporary) path.
   */
  readonly contextFetched?: boolean;
  readonly ignore?: IgnoreMatcher;
  readonly progress: ProgressEmitter;
  /** Caches imported with `--cache-from` (remote-cache.ts): consulted on a local cache miss. */
  readonly remoteCache?: RemoteStepSource;
}

/** A shared cache (registry / OCI layout) that can supply a step's result on a local miss. */
export interface RemoteStepSource {
  /**
   * When an imported cache has a record for step `key`, its layer applied on `parent` as a new
   * committed snapshot (blob downloaded and verified, layer record written for the image export),
   * with the record's time and where it came from; undefined when no imported cache has the key.
   * `onBytes` reports a blob download's progress.
   */
  restore(key: string, parent: SnapshotId | null, signal: AbortSignal, onBytes?: (digest: string, done: number, total: number) => void): Promise<{ readonly snapshot: SnapshotId; readonly created: string; readonly from: string } | undefined>;
}

export interface BuildOptions {
  /** Parallel stages (default: number of cores). */
  readonly jobs: number;
  /** `--no-cache`: run every step again. */
  readonly noCache: boolean;
  /** Reproducible output: clamps file mtimes and stamps every `created` with this time. */
  readonly sourceDateEpoch?: number;
  readonly compression: 'gzip' | 'zstd';
  readonly signal: AbortSignal;
  /** The Dockerfile lines, for error snippets. */
  readonly sourceLines?: readonly string[];
  readonly cache?: CacheOptions;
  readonly mounts?: MountSources;
}

/** Where a `--secret id=…` comes from: a file, or an environment variable of kiln's process. */
export type SecretSource = { readonly file: string } | { readonly env: string };

/** Cache-related build options (kept apart so BuildOptions stays small). */
export interface CacheOptions {
  /** `--no-cache-filter`: stages (by name or index) whose steps never come from the cache. */
  readonly noCacheFilter?: readonly string[];
  /** The Dockerfile's path: with the stage and step position it names a step "slot" for miss reasons. */
  readonly dockerfile?: string;
}

/** What RUN --mount=type=secret|ssh may use. */
export interface MountSources {
  /** `--secret`: id → source. Values are read only when a step mounts them. */
  readonly secrets?: ReadonlyMap<string, SecretSource>;
  /** `--ssh`: id → agent socket path. */
  readonly ssh?: ReadonlyMap<string, string>;
}
