// Executes a BuildPlan: one scheduler job per stage (independent stages run in parallel), each
// step on a fresh snapshot of its parent, an unchanged step taken from the cache, and only the
// target stage turned into an image (intermediate stages are never tarred or compressed).
// This file wires one build together (shared state, scheduler, export); a stage's own work is
// run-stage.ts, and where its steps' inputs come from is sources.ts.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import type { ImageConfig } from '../image/index.js';
import type { BuildPlan, PlannedStage } from '../plan/index.js';
import type { SnapshotId } from '../snapshot/index.js';
import { runGraph, type Job } from './scheduler.js';
import { BuildCache } from './cache.js';
import { ContextStatCache } from './stat-cache.js';
import { LocalContexts } from './local-context.js';
import { beginBuild } from './activity.js';
import type { StepDecision } from './explain.js';
import { assembleImage, type AssembledImage } from './assemble.js';
import { isoSeconds, lastCreated } from './times.js';
import { stepSources } from './sources.js';
import { runStage, type StageOutcome, type StageRunContext } from './run-stage.js';
import type { BuildDeps, BuildOptions } from './ports.js';

export type { StageOutcome } from './run-stage.js';

export interface BuildResult {
  readonly image: AssembledImage;
  readonly config: ImageConfig;
  readonly stages: readonly StageOutcome[];
  readonly target: StageOutcome;
  /** Every step's cache decision (key inputs, hit or why it ran), in stage and step order. */
  readonly decisions: readonly StepDecision[];
  /** Context files hashed for cache keys: how many had to be read, how many came from the stat cache. */
  readonly contextHash: { readonly read: number; readonly statHits: number };
}

export async function build(plan: BuildPlan, deps: BuildDeps, opts: BuildOptions): Promise<BuildResult> {
  const cache = new BuildCache(deps.stateDir);
  const statCache = new ContextStatCache(deps.stateDir, deps.contextDir);
  const locals = new LocalContexts(deps.stateDir);
  const decisions: { order: [number, number]; d: StepDecision }[] = [];
  const ranKeys = new Set<string>();
  // identical steps of parallel stages run once (see StageRunContext.inflight)
  const inflight = new Map<string, Promise<{ snapshot: SnapshotId; created: string }>>();
  const noCacheStages = new Set(opts.cache?.noCacheFilter ?? []);
  const dockerfile = opts.cache?.dockerfile ?? join(deps.contextDir, 'Dockerfile');
  mkdirSync(join(deps.stateDir, 'tmp'), { recursive: true });
  const endBuild = await beginBuild(deps.stateDir, opts.signal);
  const byIndex = new Map<number, PlannedStage>(plan.stages.map((s) => [s.index, s]));
  const outcomes = new Map<number, StageOutcome>();
  /** SOURCE_DATE_EPOCH pins every time; otherwise times come from the cache records. */
  const created = opts.sourceDateEpoch === undefined ? undefined : isoSeconds(new Date(opts.sourceDateEpoch * 1000));
  const sources = stepSources({ deps, opts, cache, statCache, locals, byIndex, outcomes });
  const ctx: StageRunContext = { plan, deps, opts, cache, statCache, locals, byIndex, outcomes, sources, decisions, ranKeys, inflight, noCacheStages, dockerfile, created };

  const jobs = new Map<string, Job<StageOutcome>>();
  for (const ps of plan.stages) {
    jobs.set(String(ps.index), {
      id: String(ps.index),
      // Only the FROM stage must be done before a stage starts; the stages it copies from are
      // awaited at the step that reads them (BuildKit also runs such steps concurrently).
      deps: ps.base.kind === 'stage' && byIndex.has(ps.base.stage) ? [String(ps.base.stage)] : [],
      after: ps.dependsOn.filter((d) => byIndex.has(d) && !(ps.base.kind === 'stage' && ps.base.stage === d)).map(String),
      run: async (_inputs, signal, waitFor) => {
        const o = await runStage(ctx, ps, signal, (stage) => waitFor(String(stage)));
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
    decisions.sort((x, y) => x.order[0] - y.order[0] || x.order[1] - y.order[1]);
    return {
      image,
      config: JSON.parse(image.config.toString('utf8')) as ImageConfig,
      stages: [...outcomes.values()],
      target,
      decisions: decisions.map((x) => x.d),
      contextHash: { read: statCache.counters.reads + locals.counters().reads, statHits: statCache.counters.hits + locals.counters().hits },
    };
  } finally {
    endBuild();
    try {
      if (deps.contextFetched !== true) statCache.save(); // a temporary directory: nothing to remember
    } catch {
      /* only a speed-up: the next build re-reads */
    }
    locals.save();
    await deps.snapshotter.releaseAll().catch(() => undefined);
  }
}

export { sourceLabel } from './step-inputs.js';
