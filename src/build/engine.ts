// Executes a BuildPlan: one scheduler job per stage (independent stages run in parallel), each
// step on a fresh snapshot of its parent, an unchanged step taken from the cache, and only the
// target stage turned into an image (intermediate stages are never tarred or compressed).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, isKilnError } from '../errors.js';
import type { History, ImageConfig } from '../image/index.js';
import { resolveInRoot } from '../exec/index.js';
import type { BuildPlan, CopyStep, PlannedStage, ResolvedImage, Source, Step } from '../plan/index.js';
import type { ReadOnlyView, SnapshotId } from '../snapshot/index.js';
import { makeTempDir } from '../support/index.js';
import { runGraph, type Job } from './scheduler.js';
import { BuildCache, cacheKey } from './cache.js';
import { materialiseImage, snapshotExists, type MaterialisedImage } from './base.js';
import { executeRun, executeWorkdir } from './run-step.js';
import { executeCopy, hashCopyInputs, type CopyRequest } from './copy/index.js';
import { assembleImage, type AssembledImage, type ImagePart } from './assemble.js';
import type { BuildDeps, BuildOptions } from './ports.js';

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

export interface BuildResult {
  readonly image: AssembledImage;
  readonly config: ImageConfig;
  readonly stages: readonly StageOutcome[];
  readonly target: StageOutcome;
}

/** The parts of a step definition that go into its cache key (not how it's displayed). */
function stepDefinition(step: Step): Record<string, unknown> {
  const { display: _d, location: _l, createdBy: _c, ...def } = step;
  return def;
}

const EPOCH_ZERO = '1970-01-01T00:00:00Z';

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The newest `created` among parts that carry history. */
function lastCreated(parts: readonly ImagePart[]): string | undefined {
  let last: string | undefined;
  for (const p of parts) {
    if (p.kind === 'base-layer') continue;
    const c = p.history.created;
    if (c !== undefined && (last === undefined || c > last)) last = c;
  }
  return last;
}

function sourceLabel(src: Source): string {
  return src.kind === 'context' ? 'context' : src.kind === 'stage' ? `stage ${src.stage}` : src.image.ref;
}

export async function build(plan: BuildPlan, deps: BuildDeps, opts: BuildOptions): Promise<BuildResult> {
  const cache = new BuildCache(deps.stateDir);
  mkdirSync(join(deps.stateDir, 'tmp'), { recursive: true });
  const byIndex = new Map<number, PlannedStage>(plan.stages.map((s) => [s.index, s]));
  const outcomes = new Map<number, StageOutcome>();
  const images = new Map<string, Promise<MaterialisedImage>>();
  /** SOURCE_DATE_EPOCH pins every time; otherwise times come from the cache records. */
  const created = opts.sourceDateEpoch === undefined ? undefined : isoSeconds(new Date(opts.sourceDateEpoch * 1000));

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

  /** Source → (cache key part, read-only root path getter). */
  const sourceKey = (src: Source): string => {
    if (src.kind === 'context') return 'context';
    if (src.kind === 'image') return `image:${src.image.digest}`;
    const o = outcomes.get(src.stage);
    if (!o) throw new KilnError('INTERNAL', `stage ${src.stage} has not been built`);
    return `stage:${o.key}`;
  };

  async function openSource(src: Source, views: ReadOnlyView[], signal: AbortSignal): Promise<string> {
    if (src.kind === 'context') return deps.contextDir;
    let snap: SnapshotId | null;
    if (src.kind === 'stage') {
      const o = outcomes.get(src.stage);
      if (!o) throw new KilnError('INTERNAL', `stage ${src.stage} has not been built`);
      snap = o.snapshot;
    } else {
      snap = (await materialise(src.image, signal)).snapshot;
    }
    if (snap === null) return makeTempDir('kiln-empty-', join(deps.stateDir, 'tmp'));
    const v = await deps.snapshotter.view(snap, signal);
    views.push(v);
    return v.path;
  }

  function copyRequest(step: CopyStep, srcRoot: string, destRoot: string): CopyRequest {
    const base = {
      srcRoot,
      srcKind: step.from.kind === 'context' ? ('context' as const) : ('rootfs' as const),
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
      ...(step.chown !== undefined ? { chown: step.chown } : {}),
      ...(step.chmod !== undefined ? { chmod: step.chmod } : {}),
      ...(step.add ? { add: { ...(step.unpack !== undefined ? { unpack: step.unpack } : {}), ...(step.checksum !== undefined ? { checksum: step.checksum } : {}), ...(step.keepGitDir !== undefined ? { keepGitDir: step.keepGitDir } : {}) } } : {}),
      ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
    };
  }

  async function runStage(ps: PlannedStage, signal: AbortSignal): Promise<StageOutcome> {
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
      const m = await materialise(img, signal);
      deps.progress.done(id, performance.now() - t0);
      parent = m.snapshot;
      key = cacheKey({ image: img.digest });
      baseCreated = img.config.created ?? EPOCH_ZERO;
      for (const h of img.config.history ?? []) baseParts.push({ kind: 'base-history', history: h });
      for (const l of m.layers) baseParts.push({ kind: 'base-layer', descriptor: l.descriptor, diffId: l.diffId });
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
      const pos = `${i + 1 + (total - ps.steps.length)}/${total}`;
      const id = deps.progress.start(ps.name, step.display, pos);
      const t0 = performance.now();
      const views: ReadOnlyView[] = [];
      try {
        const inputs: Record<string, unknown> = { parent: key, step: stepDefinition(step) };
        if (step.kind === 'copy') {
          if (step.from.kind === 'context') {
            const { destRoot: _omit, ...req } = copyRequest(step, deps.contextDir, '');
            inputs['content'] = (await hashCopyInputs(req, signal)).digest;
          } else {
            inputs['from'] = sourceKey(step.from);
          }
        } else if (step.kind === 'run') {
          inputs['mounts'] = step.mounts.map((m) => (m.from && m.type === 'bind' ? sourceKey(m.from) : ''));
        }
        const stepKey = cacheKey(inputs);
        const rec = opts.noCache ? undefined : cache.get(stepKey);
        if (rec && snapshotExists(deps.snapshotter, rec.snapshot) && (rec.snapshot === null || deps.snapshotter.parent(rec.snapshot) === parent)) {
          deps.progress.cached(id);
          parent = rec.snapshot;
          key = stepKey;
          cached++;
          stepResults.push({ snapshot: parent, key, created: rec.created });
          continue;
        }
        deps.progress.miss(id, opts.noCache ? '--no-cache' : i === 0 || stepResults.length === 0 ? 'no cached result' : 'no cached result for these inputs');
        const active = await deps.snapshotter.prepare(parent, signal);
        let committed: SnapshotId;
        try {
          if (step.kind === 'run') {
            await executeRun(step, active.rootfs, {
              runtime: deps.runtime,
              stateDir: deps.stateDir,
              contextDir: deps.contextDir,
              progress: deps.progress,
              progressId: id,
              stage: ps.name,
              ...(opts.sourceLines ? { sourceLines: opts.sourceLines } : {}),
              sourceRoot: (src) => openSource(src, views, signal),
            }, signal);
          } else if (step.kind === 'copy') {
            const srcRoot = await openSource(step.from, views, signal);
            await executeCopy(copyRequest(step, srcRoot, active.rootfs), signal);
          } else {
            executeWorkdir(step.path, step.user, active.rootfs, resolveInRoot);
          }
          committed = await deps.snapshotter.commit(active);
        } catch (e: unknown) {
          await active.release().catch(() => undefined);
          throw e;
        }
        const stepCreated = created ?? isoSeconds(new Date());
        cache.put(stepKey, { snapshot: committed, created: stepCreated });
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
        for (const v of views) await v.release().catch(() => undefined);
      }
    }

    // The image parts, in history order (config-only instructions are history without a layer).
    // Times come from when each step really ran (its cache record), so a fully cached rebuild
    // reproduces the same config and image id, as BuildKit's does.
    const parts: ImagePart[] = [...baseParts];
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
        parts.push({ kind: 'step', cacheKey: r.key, snapshot: r.snapshot, history: { ...h.entry, created: when } });
      }
    }
    ps.steps.forEach((s, i) => {
      const r = stepResults[i]!;
      if (!seen.has(i) && r.snapshot !== null) {
        const entry: History = { created: r.created, created_by: s.createdBy };
        parts.push({ kind: 'step', cacheKey: r.key, snapshot: r.snapshot, history: entry });
      }
    });
    return { index: ps.index, name: ps.name, snapshot: parent, key, parts, ran, cached };
  }

  const jobs = new Map<string, Job<StageOutcome>>();
  for (const ps of plan.stages) {
    jobs.set(String(ps.index), {
      id: String(ps.index),
      deps: ps.dependsOn.filter((d) => byIndex.has(d)).map(String),
      run: async (_inputs, signal) => {
        const o = await runStage(ps, signal);
        outcomes.set(ps.index, o);
        return o;
      },
    });
  }

  try {
    await runGraph(jobs, [String(plan.target)], { concurrency: Math.max(1, opts.jobs), signal: opts.signal });
    const target = outcomes.get(plan.target);
    const ps = byIndex.get(plan.target);
    if (!target || !ps) throw new KilnError('INTERNAL', 'target stage produced no result');
    const exportId = deps.progress.start(ps.name, 'exporting to image');
    const t0 = performance.now();
    const image = await assembleImage(target.parts, ps.config, { store: deps.store, snapshotter: deps.snapshotter, cache }, {
      compression: opts.compression,
      created: created ?? lastCreated(target.parts) ?? isoSeconds(new Date()),
      signal: opts.signal,
      ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
    });
    deps.progress.done(exportId, performance.now() - t0);
    return { image, config: JSON.parse(image.config.toString('utf8')) as ImageConfig, stages: [...outcomes.values()], target };
  } finally {
    await deps.snapshotter.releaseAll().catch(() => undefined);
  }
}

export { sourceLabel };
