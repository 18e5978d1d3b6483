// Where a step's inputs come from: base images made into snapshots (once per build), finished
// stages' snapshots, the context and named local contexts, opened for reading and hashed for
// cache keys, and the CopyRequest a COPY/ADD step turns into.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import type { CopyStep, PlannedStage, ResolvedImage, Source } from '../plan/index.js';
import type { ReadOnlyView, SnapshotId } from '../snapshot/index.js';
import { makeTempDir } from '../support/index.js';
import { BuildCache, cacheKey } from './cache.js';
import { materialiseImage, type MaterialisedImage } from './base.js';
import { computeCopyDigest, digestHeader, inputsSignature, selectInputs, type CopyRequest, type Input } from './copy/index.js';
import type { ContextStatCache } from './stat-cache.js';
import type { LocalContexts } from './local-context.js';
import { shortRef } from './explain.js';
import { asHashError, digestWithXattrs, recording } from './step-inputs.js';
import type { BuildDeps, BuildOptions } from './ports.js';
import type { StageOutcome } from './run-stage.js';

/**
 * The read-only snapshot views one step opened, at most one per snapshot: a COPY --from hashes
 * its sources for the cache key and then copies them through the same view (each view is an
 * overlay mount and unmount). Released together when the step ends.
 */
export class StepViews {
  private readonly bySnapshot = new Map<SnapshotId, Promise<ReadOnlyView>>();

  open(snap: SnapshotId, make: () => Promise<ReadOnlyView>): Promise<ReadOnlyView> {
    let v = this.bySnapshot.get(snap);
    if (v === undefined) {
      v = make();
      this.bySnapshot.set(snap, v);
    }
    return v;
  }

  /** Releases every view that was opened (a failed open has nothing to release). */
  async releaseAll(): Promise<void> {
    const all = [...this.bySnapshot.values()];
    this.bySnapshot.clear();
    for (const p of all) await p.then((v) => v.release(), () => undefined).catch(() => undefined);
  }
}

/** A COPY reading this many entries from one source gets a tree record file of its own. */
const TREE_MIN_ENTRIES = 256;

/** What one build shares between its stages (engine.ts makes one per build). */
export interface SourcesContext {
  readonly deps: BuildDeps;
  readonly opts: BuildOptions;
  readonly cache: BuildCache;
  readonly statCache: ContextStatCache;
  readonly locals: LocalContexts;
  readonly byIndex: ReadonlyMap<number, PlannedStage>;
  /** Stages finished so far (the scheduler adds each one as it completes). */
  readonly outcomes: ReadonlyMap<number, StageOutcome>;
}

export interface StepSources {
  /** A base image as a snapshot, unpacked once per build however many stages use it. */
  materialise(img: ResolvedImage, signal: AbortSignal): Promise<MaterialisedImage>;
  /** How a source is named in step decisions ("context", "stage build", "image alpine:3"). */
  sourceName(src: Source): string;
  sourceDigest(src: Source, req: Omit<CopyRequest, 'destRoot' | 'srcRoot'>, views: StepViews, signal: AbortSignal): Promise<{ digest: string; files?: Record<string, string> }>;
  /** `keep` receives the walked inputs (to hand them to the copy). */
  contextDigest(req: Omit<CopyRequest, 'destRoot'>, signal: AbortSignal, files: Map<string, string>, keep?: (inputs: Input[]) => void): Promise<string>;
  /** A directory with the source's files; a snapshot view opened for it is kept in `views` for the caller to release. */
  openSource(src: Source, views: StepViews, signal: AbortSignal): Promise<string>;
  copyRequest(step: CopyStep, srcRoot: string, destRoot: string): CopyRequest;
}

export function stepSources(ctx: SourcesContext): StepSources {
  const { deps, opts, cache, statCache, locals, byIndex, outcomes } = ctx;
  const images = new Map<string, Promise<MaterialisedImage>>();


  const materialise = (img: ResolvedImage, signal: AbortSignal): Promise<MaterialisedImage> => {
    let p = images.get(img.digest);
    if (!p) {
      p = (async () => {
        const manifest = await deps.ensureImage(img, signal);
        return materialiseImage(img, manifest, { store: deps.store, snapshotter: deps.snapshotter, cache }, signal);
      })();
      images.set(img.digest, p);
    }
    return p;
  };

  const sourceName = (src: Source): string => {
    if (src.kind === 'context') return 'context';
    if (src.kind === 'local') return `context ${src.name}`;
    if (src.kind === 'image') return `image ${shortRef(src.image.ref)}`;
    return `stage ${byIndex.get(src.stage)?.name ?? src.stage}`;
  };

  /**
   * Digest of what a COPY --from / bind mount reads from a stage (its selected files, never the
   * stage's input key, so a stage that re-ran with the same output still counts as unchanged),
   * or an image's digest. Stage snapshots are immutable: the digest is remembered per snapshot.
   */
  async function sourceDigest(src: Source, req: Omit<CopyRequest, 'destRoot' | 'srcRoot'>, views: StepViews, signal: AbortSignal): Promise<{ digest: string; files?: Record<string, string> }> {
    if (src.kind === 'image') return { digest: src.image.digest };
    if (src.kind === 'context') throw new KilnError('INTERNAL', 'context sources are hashed with the stat cache');
    // a named local context is hashed like the context: by content, through its own stat cache
    if (src.kind === 'local') return locals.digest(src, req, recording, signal).catch((e: unknown) => {
      throw asHashError(e);
    });
    const o = outcomes.get(src.stage);
    if (!o) throw new KilnError('INTERNAL', `stage ${src.stage} has not been built`);
    const memo = `srcd-${cacheKey({ v: 2, snapshot: o.snapshot, req })}`;
    const known = cache.getValue(memo);
    if (known !== undefined) {
      try {
        return JSON.parse(known) as { digest: string; files: Record<string, string> };
      } catch {
        /* recompute */
      }
    }
    const root = await openSource(src, views, signal);
    const seen = new Map<string, string>();
    const d = await computeCopyDigest({ ...req, srcRoot: root }, recording(root, digestWithXattrs, seen), signal).catch((e: unknown) => {
      throw asHashError(e);
    });
    const out = { digest: d.digest, files: Object.fromEntries(seen) };
    cache.putValue(memo, JSON.stringify(out));
    return out;
  }

  /**
   * Digest of what a step reads from the context (stat cache), with per-file digests. When the
   * inputs' signature (copy/signature.ts) is the one stored with the last digest of the same
   * request, that digest and its files are taken as they are.
   */
  async function contextDigest(req: Omit<CopyRequest, 'destRoot'>, signal: AbortSignal, files: Map<string, string>, keep?: (inputs: Input[]) => void): Promise<string> {
    try {
      const inputs = await selectInputs(req, signal);
      keep?.(inputs);
      // a big request gets a record file of its own, small ones share one (tree-records.ts)
      const big = inputs.some((i) => i.kind === 'local' && i.entries.length >= TREE_MIN_ENTRIES);
      const sig = req.srcRoot === deps.contextDir ? inputsSignature(req, inputs, BigInt(Date.now()) * 1_000_000n) : undefined;
      const key = sig ? createHash('sha256').update(digestHeader(req)).digest('hex').slice(0, 32) : '';
      const stored = sig ? statCache.trees.get(key, sig.sig, big) : undefined;
      if (sig && stored) {
        const rels = Object.keys(stored.files);
        for (const rel of rels) files.set(rel, stored.files[rel]!);
        statCache.markSeen(rels);
        statCache.counters.hits += rels.length; // as many as the file-by-file path would count
        return stored.digest;
      }
      const mine = new Map<string, string>();
      const d = await computeCopyDigest(req, recording(deps.contextDir, statCache.digester(), mine), signal, undefined, inputs);
      for (const [rel, v] of mine) files.set(rel, v);
      for (const i of inputs) if (i.kind === 'git') files.set(i.source, `commit ${i.pin.commit}`); // a miss names the moved ref
      if (sig && !sig.racy) statCache.trees.put(key, sig.sig, d.digest, mine, big);
      return d.digest;
    } catch (e) {
      throw asHashError(e);
    }
  }

  async function openSource(src: Source, views: StepViews, signal: AbortSignal): Promise<string> {
    if (src.kind === 'context') return deps.contextDir;
    if (src.kind === 'local') return locals.get(src).dir;
    let snap: SnapshotId | null;
    if (src.kind === 'stage') {
      const o = outcomes.get(src.stage);
      if (!o) throw new KilnError('INTERNAL', `stage ${src.stage} has not been built`);
      snap = o.snapshot;
    } else {
      snap = (await materialise(src.image, signal)).snapshot;
    }
    if (snap === null) return makeTempDir('kiln-empty-', join(deps.stateDir, 'tmp'));
    return (await views.open(snap, () => deps.snapshotter.view(snap, signal))).path;
  }

  function copyRequest(step: CopyStep, srcRoot: string, destRoot: string): CopyRequest {
    const base = {
      srcRoot,
      srcKind: (step.from.kind === 'context' && deps.contextFetched !== true) || step.from.kind === 'local' ? ('context' as const) : ('rootfs' as const),
      sources: step.sources,
      inline: step.inline,
      dest: step.dest,
      destRoot,
      parents: step.parents,
      excludes: step.excludes,
      link: step.link,
    };
    return {
      ...base,
      ...(step.from.kind === 'context' && deps.ignore ? { ignore: deps.ignore } : {}),
      ...(step.from.kind === 'local' && locals.get(step.from).ignore ? { ignore: locals.get(step.from).ignore! } : {}),
      ...(step.chown !== undefined ? { chown: step.chown } : {}),
      ...(step.chmod !== undefined ? { chmod: step.chmod } : {}),
      ...(step.add ? { add: { ...(step.unpack !== undefined ? { unpack: step.unpack } : {}), ...(step.checksum !== undefined ? { checksum: step.checksum } : {}), ...(step.keepGitDir !== undefined ? { keepGitDir: step.keepGitDir } : {}) } } : {}),
      // Git sources: checked out under the state dir; ssh remotes use `--ssh default` (as BuildKit)
      ...(step.add ? { git: { workDir: join(deps.stateDir, 'tmp'), ...(opts.mounts?.ssh?.get('default') !== undefined ? { sshAuthSock: opts.mounts.ssh.get('default')! } : {}) } } : {}),
      ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
    };
  }

  return { materialise, sourceName, sourceDigest, contextDigest, openSource, copyRequest };
}
