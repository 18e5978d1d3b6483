// Runs one stage: its base (an image, a finished stage, a named local context or scratch), then
// each step on a fresh snapshot of its parent, an unchanged step taken from the cache (local, a
// step another stage is running right now, or an imported --cache-from cache), and finally the
// stage's image parts in history order.
import { KilnError, isKilnError, type SourceRange } from '../errors.js';
import { noteCodePath } from '../support/index.js';
import type { History } from '../image/index.js';
import { resolveInRoot } from '../exec/index.js';
import type { BuildPlan, PlannedStage } from '../plan/index.js';
import type { SnapshotId } from '../snapshot/index.js';
import { BuildCache, cacheKey, type CacheRecord, type KeyInputs } from './cache.js';
import { snapshotExists } from './base.js';
import { executeRun, executeWorkdir, refuseNamesOnEmptyBase } from './run-step.js';
import { executeCopy, type CopyTarget, type Input } from './copy/index.js';
import { copySeed } from './copy-seed.js';
import { localBase } from './local-context.js';
import { missReason, type StepDecision } from './explain.js';
import type { ImagePart } from './assemble.js';
import { argsRecord, asHashError, recording, stepDefinition, wholePath } from './step-inputs.js';
import { EPOCH_ZERO, isoSeconds, lastCreated } from './times.js';
import { StepViews, type SourcesContext, type StepSources } from './sources.js';

export interface StageOutcome {
  readonly index: number;
  readonly name: string;
  readonly snapshot: SnapshotId | null;
  /** Cache key of the stage's final filesystem. */
  readonly key: string;
  /** What an image of this stage is made of, oldest first. */
  readonly parts: readonly ImagePart[];
  /** Steps run / taken from the cache. */
  readonly ran: number;
  readonly cached: number;
}

/** What the stages of one build share (engine.ts makes one per build). */
export interface StageRunContext extends SourcesContext {
  readonly plan: BuildPlan;
  readonly sources: StepSources;
  /** Every step's cache decision, with its (stage, step) position for sorting at the end. */
  readonly decisions: { order: [number, number]; d: StepDecision }[];
  /** Keys of the steps that ran in this build (so a child can say "parent step re-ran"). */
  readonly ranKeys: Set<string>;
  /**
   * Steps being executed in this build, by cache key: a stage that reaches a step with the same
   * key as one another stage is running (identical leading steps of parallel stages) waits for
   * it and shares its snapshot, as BuildKit merges identical vertices. Running both would leave
   * two snapshots for one cache record, and the loser's children would miss on the next build.
   */
  readonly inflight: Map<string, Promise<{ snapshot: SnapshotId; created: string }>>;
  /** Stage names / indexes given to --no-cache-filter. */
  readonly noCacheStages: ReadonlySet<string>;
  /** The Dockerfile's path, naming the per-step slots that remember the previous build's key. */
  readonly dockerfile: string;
  /** SOURCE_DATE_EPOCH pins every time; otherwise (undefined) times come from the cache records. */
  readonly created: string | undefined;
}

export async function runStage(ctx: StageRunContext, ps: PlannedStage, signal: AbortSignal, waitFor: (stage: number) => Promise<unknown>): Promise<StageOutcome> {
  const { plan, deps, opts, cache, statCache, locals, outcomes, decisions, ranKeys, inflight, noCacheStages, dockerfile, created } = ctx;
  const { materialise, sourceName, sourceDigest, contextDigest, openSource, copyRequest } = ctx.sources;

  const total = ps.steps.length + (ps.base.kind === 'scratch' ? 0 : 1);
  let parent: SnapshotId | null;
  let key: string;
  const baseParts: ImagePart[] = [];
  let baseCreated = EPOCH_ZERO;
  if (ps.base.kind === 'scratch') {
    parent = null;
    key = cacheKey({ scratch: true, platform: ps.platform });
  } else if (ps.base.kind === 'image') {
    const img = ps.base.image;
    const id = deps.progress.start(ps.name, `FROM ${img.ref}@${img.digest}`, `1/${total}`);
    const t0 = performance.now();
    const m = await materialise(img, signal).catch((e: unknown) => {
      // a base image that cannot be unpacked (a hostile layer, a missing blob) fails at its FROM
      if (!isKilnError(e) || e.code === 'ABORTED' || e.details.location) throw e;
      deps.progress.error(id, e.message);
      throw e.with({ location: [ps.fromRange], stage: ps.name, ...(opts.sourceLines ? { sourceLines: opts.sourceLines } : {}) });
    });
    deps.progress.done(id, performance.now() - t0);
    parent = m.snapshot;
    key = cacheKey({ image: img.digest });
    baseCreated = img.config.created ?? EPOCH_ZERO;
    for (const h of img.config.history ?? []) baseParts.push({ kind: 'base-history', history: h });
    for (const l of m.layers) baseParts.push({ kind: 'base-layer', descriptor: l.descriptor, diffId: l.diffId });
  } else if (ps.base.kind === 'local') {
    // FROM a named local context: its files are the root filesystem, as one layer
    const id = deps.progress.start(ps.name, `FROM context ${ps.base.name}`, `1/${total}`);
    const t0 = performance.now();
    const lb = await localBase(ps.base, ps.platform, {
      locals, snapshotter: deps.snapshotter, cache, noCache: opts.noCache, stage: ps.name, record: recording,
      created: () => created ?? isoSeconds(new Date()),
      ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
    }, signal).catch((e: unknown) => {
      throw isKilnError(e) ? e.with({ stage: ps.name }) : asHashError(e);
    });
    if (lb.cached) deps.progress.cached(id);
    else deps.progress.done(id, performance.now() - t0);
    parent = lb.snapshot;
    key = lb.key;
    baseCreated = lb.created;
    // BuildKit's exporter gives a layer without a history entry one of its own
    baseParts.push({ kind: 'step', cacheKey: lb.key, snapshot: lb.snapshot, history: { created: created ?? lb.created, created_by: `FROM context ${ps.base.name}`, comment: 'buildkit.exporter.image.v0' } });
  } else {
    const o = outcomes.get(ps.base.stage);
    if (!o) throw new KilnError('INTERNAL', `stage ${ps.base.stage} has not been built`);
    const id = deps.progress.start(ps.name, `FROM ${o.name}`, `1/${total}`);
    deps.progress.cached(id);
    parent = o.snapshot;
    key = o.key;
    baseParts.push(...o.parts);
    baseCreated = lastCreated(o.parts) ?? EPOCH_ZERO;
  }

  const stepResults: { snapshot: SnapshotId | null; key: string; created: string }[] = [];
  let ran = 0;
  let cached = 0;
  for (let i = 0; i < ps.steps.length; i++) {
    signal.throwIfAborted();
    const step = ps.steps[i]!;
    // A stage this step reads (COPY --from, RUN --mount from=) may still be running: the stage
    // started without it and waits here, so its earlier steps overlapped with that stage.
    for (const src of step.kind === 'copy' ? [step.from] : step.kind === 'run' ? step.mounts.map((m) => m.from) : []) {
      if (src?.kind === 'stage' && !outcomes.has(src.stage)) await waitFor(src.stage);
    }
    const pos = `${i + 1 + (total - ps.steps.length)}/${total}`;
    const id = deps.progress.start(ps.name, step.display, pos);
    const t0 = performance.now();
    const views = new StepViews();
    try {
      const hashedBefore = statCache.counters.reads + statCache.counters.hits;
      const readBefore = statCache.counters.reads;
      const files = new Map<string, string>();
      const contentParts: string[] = [];
      const sources: Record<string, string> = {};
      const sourceFiles: Record<string, Record<string, string>> = {};
      const addSource = (label: string, r: { digest: string; files?: Record<string, string> }): void => {
        let l = label;
        for (let n = 2; l in sources; n++) l = `${label} (${n})`;
        sources[l] = r.digest;
        if (r.files) sourceFiles[l] = r.files;
      };
      let walked: Input[] | undefined;
      if (step.kind === 'copy') {
        const { destRoot: _omit, srcRoot: _root, ...req } = copyRequest(step, deps.contextDir, '');
        if (step.from.kind === 'context') contentParts.push(await contextDigest({ ...req, srcRoot: deps.contextDir }, signal, files, (inp) => (walked = inp)));
        else addSource(sourceName(step.from), await sourceDigest(step.from, req, views, signal));
      } else if (step.kind === 'run') {
        for (const m of step.mounts) {
          // a cache mount's content is not an input (BuildKit), but what seeds it (from=) is; secrets count by id only
          if (m.type === 'cache' && m.from !== undefined && m.from.kind !== 'context') {
            addSource(`${sourceName(m.from)} (cache seed)`, await sourceDigest(m.from, wholePath(m.source), views, signal));
            continue;
          }
          if (m.type !== 'bind') continue;
          if (m.from === undefined || m.from.kind === 'context') {
            const srcKind = deps.contextFetched === true ? ('rootfs' as const) : ('context' as const); // owners count for an archive's files
            const req = { ...wholePath(m.source), srcKind, srcRoot: deps.contextDir, ...(deps.ignore ? { ignore: deps.ignore } : {}) };
            contentParts.push(await contextDigest(req, signal, files));
          } else {
            addSource(sourceName(m.from), await sourceDigest(m.from, wholePath(m.source), views, signal));
          }
        }
      }
      const inputs: KeyInputs = {
        parent: key,
        ...(i === 0 && ps.base.kind === 'image' ? { base: `${ps.base.image.ref}@${ps.base.image.digest}` } : {}),
        definition: cacheKey(stepDefinition(step)),
        ...(step.kind === 'run' && step.buildArgs.length > 0 ? { buildArgs: argsRecord(step.buildArgs) } : {}),
        ...(contentParts.length > 0 ? { content: contentParts.length === 1 ? contentParts[0]! : `sha256:${cacheKey({ parts: contentParts })}`, files: Object.fromEntries(files) } : {}),
        ...(Object.keys(sources).length > 0 ? { sources, sourceFiles } : {}),
      };
      const stepKey = cacheKey({ v: 2, parent: inputs.parent, definition: inputs.definition, content: inputs.content ?? null, sources: inputs.sources ?? null });
      const hashed = statCache.counters.reads + statCache.counters.hits - hashedBefore;
      const contextFiles = contentParts.length > 0 ? { hashed, read: statCache.counters.reads - readBefore } : undefined;
      const slot = BuildCache.slot(dockerfile, ps.name, i);
      const filtered = noCacheStages.has(ps.name) || noCacheStages.has(String(ps.index));
      const rec = opts.noCache || filtered ? undefined : cache.get(stepKey);
      const decide = (cachedHit: boolean, reason?: string, resultFrom?: string): { d: StepDecision } => {
        const d: StepDecision = { stage: ps.name, pos, display: step.display, key: stepKey, cached: cachedHit, ...(reason !== undefined ? { reason } : {}), ...(resultFrom !== undefined ? { resultFrom } : {}), inputs, ...(contextFiles ? { contextFiles } : {}) };
        noteCodePath(`step:${step.kind}:${cachedHit ? 'hit' : 'miss'}`);
        const held = { order: [plan.stages.indexOf(ps), i] as [number, number], d };
        decisions.push(held);
        return held;
      };
      const shared = inflight.get(stepKey);
      if (shared) {
        const r = await shared;
        deps.progress.cached(id);
        decide(true, undefined, r.created);
        parent = r.snapshot;
        key = stepKey;
        cached++;
        stepResults.push({ snapshot: parent, key, created: r.created });
        continue;
      }
      const fits = rec !== undefined && snapshotExists(deps.snapshotter, rec.snapshot) && (rec.snapshot === null || deps.snapshotter.parent(rec.snapshot) === parent);
      if (rec && fits) {
        deps.progress.cached(id);
        cache.touch(stepKey);
        cache.putSlot(slot, stepKey);
        decide(true, undefined, rec.created);
        parent = rec.snapshot;
        key = stepKey;
        cached++;
        stepResults.push({ snapshot: parent, key, created: rec.created });
        continue;
      }
      // --- shared cache (--cache-from, remote-cache.ts): a local miss may be in an imported cache
      // (never on top of a step that re-ran in this build: as locally, its children run again)
      const remote = opts.noCache || filtered || !deps.remoteCache || ranKeys.has(inputs.parent) ? undefined : await deps.remoteCache.restore(stepKey, parent, signal, (d, done, total) => deps.progress.blob(id, d, done, total));
      if (remote) {
        if (rec?.snapshot && rec.snapshot !== remote.snapshot) cache.put(`orphan-${rec.snapshot}`, { snapshot: rec.snapshot, created: remote.created });
        cache.put(stepKey, { snapshot: remote.snapshot, created: remote.created, inputs, meta: { stage: ps.name, pos, display: step.display } });
        cache.putSlot(slot, stepKey);
        deps.progress.log(id, 'stdout', `${remote.from}\n`);
        deps.progress.cached(id);
        decide(true, remote.from);
        parent = remote.snapshot;
        key = stepKey;
        cached++;
        stepResults.push({ snapshot: parent, key, created: remote.created });
        continue;
      }
      // --- end shared cache
      let reason: string;
      // what this step position made last time: for the miss reason and a COPY's file reuse
      // (read once: a 20k-file COPY's record is ~2 MB)
      let prev: CacheRecord | undefined;
      if (opts.noCache) reason = '--no-cache';
      else if (filtered) reason = `--no-cache-filter ${ps.name}`;
      else {
        const prevKey = cache.getSlot(slot);
        prev = prevKey === stepKey ? rec : prevKey !== undefined ? cache.get(prevKey) : undefined;
        if (prevKey === undefined) reason = 'no previous build';
        else if (prevKey === stepKey) reason = rec === undefined || !snapshotExists(deps.snapshotter, rec.snapshot) ? 'cached result was removed (pruned)' : 'parent step re-ran';
        else reason = missReason(prev?.inputs, inputs, ranKeys.has(inputs.parent));
      }
      deps.progress.miss(id, reason);
      const decision = decide(false, reason);
      let settle!: { resolve: (r: { snapshot: SnapshotId; created: string }) => void; reject: (e: unknown) => void };
      const running = new Promise<{ snapshot: SnapshotId; created: string }>((resolve, reject) => (settle = { resolve, reject }));
      running.catch(() => undefined); // a failure is reported by this stage; waiters see it too
      inflight.set(stepKey, running);
      // a COPY from the context links its unchanged files from its previous result
      // (not from a context from stdin or a URL: its files' owners, which the reuse does not compare, come from the archive)
      const reuse = step.kind === 'copy' && walked !== undefined && prev !== undefined && deps.contextFetched !== true ? copySeed(prev, inputs, walked, deps.contextDir, files) : undefined;
      const active = await deps.snapshotter.prepare(parent, signal, reuse?.seed).catch((e: unknown) => {
        settle.reject(e);
        throw e;
      });
      let committed: SnapshotId;
      let copyTargets: CopyTarget[] | undefined;
      try {
        if (step.kind === 'run') {
          await executeRun(step, active.rootfs, {
            runtime: deps.runtime,
            stateDir: deps.stateDir,
            contextDir: deps.contextDir,
            ...(deps.contextFetched === true ? { contextFetched: true } : {}),
            progress: deps.progress,
            progressId: id,
            stage: ps.name,
            ...(opts.sourceLines ? { sourceLines: opts.sourceLines } : {}),
            sourceRoot: (src) => openSource(src, views, signal),
            // a seeded cache dir is per seed content (stage files under source=, image digest)
            sourceId: async (src, source) => (src.kind === 'context' ? 'context' : (await sourceDigest(src, wholePath(source), views, signal)).digest),
            ...(deps.ignore ? { ignore: deps.ignore } : {}),
            localIgnore: (src) => locals.get(src).ignore,
            ...(opts.mounts ? { mountSources: opts.mounts } : {}),
          }, signal);
        } else if (step.kind === 'copy') {
          if (step.chown !== undefined) refuseNamesOnEmptyBase(parent === null, step.chown, `--chown=${step.chown}`);
          const srcRoot = await openSource(step.from, views, signal);
          const reused = active.seeded === true ? reuse?.result.reused : undefined;
          const r = await executeCopy(copyRequest(step, srcRoot, active.rootfs), signal, { ...(walked ? { inputs: walked } : {}), ...(reused ? { reuse: reused } : {}) });
          if (step.from.kind === 'context') copyTargets = r.targets;
          if (reused) decision.d = { ...decision.d, reusedFiles: reused.files.size };
        } else {
          executeWorkdir(step.path, step.user, active.rootfs, resolveInRoot, parent === null);
        }
        committed = await deps.snapshotter.commit(active);
      } catch (e: unknown) {
        await active.release().catch(() => undefined);
        settle.reject(e);
        throw e;
      }
      const stepCreated = created ?? isoSeconds(new Date());
      settle.resolve({ snapshot: committed, created: stepCreated });
      // a re-run (--no-cache) replaces the record: its old snapshot stays findable for pruning
      const replaced = cache.get(stepKey)?.snapshot;
      if (replaced && replaced !== committed) cache.put(`orphan-${replaced}`, { snapshot: replaced, created: stepCreated });
      cache.put(stepKey, { snapshot: committed, created: stepCreated, inputs, ...(copyTargets ? { copyTargets } : {}), meta: { stage: ps.name, pos, display: step.display } });
      cache.putSlot(slot, stepKey);
      ranKeys.add(stepKey);
      parent = committed;
      key = stepKey;
      ran++;
      stepResults.push({ snapshot: parent, key, created: stepCreated });
      deps.progress.done(id, performance.now() - t0);
    } catch (e: unknown) {
      const err = isKilnError(e) ? e : new KilnError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
      const located = err.details.location ? err : err.with({ location: [step.location], ...(opts.sourceLines ? { sourceLines: opts.sourceLines } : {}) });
      const withStage = located.details.stage !== undefined ? located : located.with({ stage: ps.name });
      if (!(signal.aborted && err.code === 'ABORTED')) deps.progress.error(id, withStage.message);
      throw withStage;
    } finally {
      await views.releaseAll();
    }
  }

  // The image parts, in history order (config-only instructions are history without a layer).
  // Times come from when each step really ran (its cache record), so a fully cached rebuild
  // reproduces the same config and image id, as BuildKit's does.
  const parts: ImagePart[] = [...baseParts];
  const at = (s: { readonly location: SourceRange }) => ({ location: s.location, stage: ps.name, ...(opts.sourceLines ? { sourceLines: opts.sourceLines } : {}) });
  const seen = new Set<number>();
  let when = created ?? baseCreated;
  for (const h of ps.history) {
    if (h.step === undefined) {
      parts.push({ kind: 'history', history: { ...h.entry, created: when } });
    } else {
      const r = stepResults[h.step];
      if (!r || r.snapshot === null) throw new KilnError('INTERNAL', `history refers to step ${h.step} that produced no snapshot`);
      seen.add(h.step);
      when = r.created;
      parts.push({ kind: 'step', cacheKey: r.key, snapshot: r.snapshot, history: { ...h.entry, created: when }, at: at(ps.steps[h.step]!) });
    }
  }
  ps.steps.forEach((s, i) => {
    const r = stepResults[i]!;
    if (!seen.has(i) && r.snapshot !== null) {
      const entry: History = { created: r.created, created_by: s.createdBy };
      parts.push({ kind: 'step', cacheKey: r.key, snapshot: r.snapshot, history: entry, at: at(s) });
    }
  });
  return { index: ps.index, name: ps.name, snapshot: parent, key, parts, ran, cached };
}
