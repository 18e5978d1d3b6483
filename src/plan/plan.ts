// planBuild: Stages + request → BuildPlan, in BuildKit's order (toDispatchState): global args,
// stage graph, target, dependency graph + cycles, base images of reachable stages resolved
// concurrently (again after ONBUILD triggers add dependencies), then each reachable stage
// dispatched in file order.
import { KilnError, isKilnError, type SourceRange } from '../errors.js';
import { parse, parseInstruction, ShellLex, suggest, type Instruction } from '../dockerfile/index.js';
import type { Platform } from '../image/index.js';
import { buildMetaArgs, defaultArgs, formatPlatformAll, proxyEnv, unusedBuildArgsWarning } from './args.js';
import { planError, withLocation, type ErrorContext } from './fail.js';
import { runDisplayLexer } from './format.js';
import { dispatch, type DispatchContext } from './lower.js';
import { namedLookup } from './contexts.js';
import { buildStageNodes, checkCycles, reachable, resolveTarget, toCommand, type Command, type Ref, type StageNode } from './stages.js';
import { PlanBudget, imageEntries } from './budget.js';
import { EnvList, forgetEnvIndex } from './env.js';
import { StageState, cloneImage, finalConfig, imageFromResolved, initStageEnv, scratchImage } from './state.js';
import type { BuildPlan, BuildRequest, PlannedStage, ResolvedImage, ResolveImage, Source, StageBase } from './types.js';

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new KilnError('ABORTED', 'planning aborted', { cause: signal.reason });
}

/** Resolves each (ref, platform) once; failures carry the location of the first user. */
class ImageResolver {
  private readonly cache = new Map<string, Promise<ResolvedImage>>();
  private readonly done = new Map<string, ResolvedImage>();

  constructor(
    private readonly resolve: ResolveImage,
    private readonly signal: AbortSignal | undefined,
    private readonly stageNames: readonly string[],
  ) {}

  private key(ref: string, p: Platform): string {
    return `${ref}\n${formatPlatformAll(p)}`;
  }

  request(ref: string, p: Platform, ctx: ErrorContext, range: SourceRange): Promise<void> {
    const key = this.key(ref, p);
    let pr = this.cache.get(key);
    if (!pr) {
      pr = this.resolve(ref, p, this.signal).catch((e: unknown) => {
        const err = withLocation(e, ctx, range, 'IMAGE_NOT_FOUND');
        // A name close to a stage's is far more likely a typo than an image to pull: that advice
        // replaces the resolver's (BuildKit takes any unknown --from / FROM name as an image).
        const s = err.code === 'IMAGE_NOT_FOUND' ? suggest(ref, this.stageNames, true) : undefined;
        throw s ? err.with({ hint: `did you mean stage ${s}?` }) : err;
      });
      this.cache.set(key, pr);
    }
    return pr.then((img) => {
      this.done.set(key, img);
    });
  }

  get(ref: string, p: Platform): ResolvedImage {
    const img = this.done.get(this.key(ref, p));
    if (!img) throw new KilnError('INTERNAL', `image ${ref} was not resolved before planning`);
    return img;
  }
}

/** The image references a reachable stage needs: its base and COPY --from / mount from= images. */
function imageNeeds(n: StageNode, target: Platform): { ref: string; platform: Platform; range: SourceRange }[] {
  const out: { ref: string; platform: Platform; range: SourceRange }[] = [];
  if (n.base.kind === 'image') out.push({ ref: n.base.ref, platform: n.platform ?? target, range: n.stage.from.range });
  for (const c of n.commands) {
    for (const s of c.sources) if (s?.kind === 'image') out.push({ ref: s.ref, platform: target, range: c.ins.range });
  }
  return out;
}

/** ONBUILD triggers for a stage: from its base image's config, or its base stage's ONBUILD lines. */
function triggers(n: StageNode, nodes: readonly StageNode[], images: ImageResolver, target: Platform, ctx: ErrorContext): Instruction[] {
  const at = n.stage.from.range;
  let onbuild: readonly string[];
  if (n.base.kind === 'stage') {
    const parent = nodes[n.base.index]!;
    if (!parent.overridden) return parent.stage.instructions.flatMap((i) => (i.kind === 'ONBUILD' ? [{ ...i.instruction, range: at } as Instruction] : []));
    // an image context that replaces the stage keeps its triggers (none ran there): they fire here
    if (parent.base.kind !== 'image') return [];
    onbuild = images.get(parent.base.ref, parent.platform ?? target).config.config?.OnBuild ?? [];
  } else if (n.base.kind === 'image') onbuild = images.get(n.base.ref, n.platform ?? target).config.config?.OnBuild ?? [];
  else return [];
  return onbuild.map((text) => {
    try {
      const ast = parse(text, { file: ctx.file ?? 'Dockerfile' });
      if (ast.instructions.length !== 1) throw new KilnError('DOCKERFILE_SYNTAX', 'onbuild trigger should be a single expression');
      const node = ast.instructions[0]!;
      const ins = parseInstruction({ ...node, range: at }, { lines: ast.lines, file: ast.file });
      return { ...ins, range: at } as Instruction;
    } catch (e) {
      const err = withLocation(e, ctx, at);
      throw err.with({ location: [at], ...(ctx.sourceLines ? { sourceLines: ctx.sourceLines } : {}), hint: err.details.hint ?? `in ONBUILD trigger ${JSON.stringify(text)} of ${n.baseName}` });
    }
  });
}

function stageBase(n: StageNode, images: ImageResolver, target: Platform): StageBase {
  if (n.base.kind === 'stage') return { kind: 'stage', stage: n.base.index };
  if (n.base.kind === 'scratch') return { kind: 'scratch' };
  if (n.base.kind === 'local') return { kind: 'local', name: n.base.name, dir: n.base.dir };
  return { kind: 'image', image: images.get(n.base.ref, n.platform ?? target) };
}

export async function planBuild(req: BuildRequest, resolveImage: ResolveImage, signal?: AbortSignal): Promise<BuildPlan> {
  checkAborted(signal);
  const ctx: ErrorContext = { ...(req.sourceLines ? { sourceLines: req.sourceLines } : {}), ...(req.file !== undefined ? { file: req.file } : {}) };
  const all = req.stages.stages;
  if (all.length === 0) throw new KilnError('DOCKERFILE_EMPTY', 'dockerfile contains no stages to build', { hint: 'add FROM <image>' });
  const escapeToken = req.escapeToken ?? '\\';
  const lex = new ShellLex({ escapeToken });
  const targetPlatform = req.targetPlatform;

  // Global scope: automatic platform args, then the meta ARGs (with --build-arg overrides).
  const targetName = req.target || (all[all.length - 1]!.name ?? '');
  const meta = buildMetaArgs(defaultArgs(req.buildPlatform, targetPlatform, req.buildArgs, targetName), lex, req.stages.metaArgs, req.buildArgs, ctx);
  const globals = meta.env;

  const named = namedLookup(req.namedContexts);
  const nodes = buildStageNodes(all, globals, lex, req.buildPlatform, ctx, named);
  const target = resolveTarget(nodes, req.target, ctx);
  for (const n of nodes) {
    // a stage a named context replaces is that context: none of its instructions run (BuildKit)
    if (n.overridden) n.onbuildInit = true;
    else n.commands = n.stage.instructions.map((ins) => toCommand(ins, nodes, lex, false, { ...ctx, stage: n.name }, named));
  }
  checkCycles(nodes, ctx);

  const names = nodes.flatMap((n) => (n.stage.name ? [n.stage.name] : []));
  const images = new ImageResolver(resolveImage, signal, names);
  let reach: Set<number>;
  for (;;) {
    reach = reachable(nodes, target);
    const pending: Promise<void>[] = [];
    for (const i of reach) {
      const n = nodes[i]!;
      for (const need of imageNeeds(n, targetPlatform)) pending.push(images.request(need.ref, need.platform, { ...ctx, stage: n.name }, need.range));
    }
    const results = await Promise.allSettled(pending);
    checkAborted(signal);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    let newDeps = false;
    for (const i of [...reach].sort((a, b) => a - b)) {
      const n = nodes[i]!;
      if (n.onbuildInit) continue;
      n.onbuildInit = true;
      const sctx = { ...ctx, stage: n.name };
      const cmds: Command[] = triggers(n, nodes, images, targetPlatform, sctx).map((ins) => toCommand(ins, nodes, lex, true, sctx, named));
      if (cmds.some((c) => c.sources.some((s) => s !== undefined))) newDeps = true;
      n.commands = [...cmds, ...n.commands];
    }
    if (!newDeps) break;
  }

  const states = new Map<number, StageState>();
  const declared = new Set<string>(req.stages.metaArgs.flatMap((a) => a.args.map((kv) => kv.key)));
  const proxy = proxyEnv(req.buildArgs);
  const runLex = runDisplayLexer(escapeToken);
  const rawLex = new ShellLex({ escapeToken: '\\', skipProcessQuotes: true });
  const source = (ref: Ref): Source | undefined => {
    if (ref.kind === 'stage') return states.has(ref.index) ? { kind: 'stage', stage: ref.index } : undefined;
    if (ref.kind === 'image') return { kind: 'image', image: images.get(ref.ref, targetPlatform) };
    if (ref.kind === 'local') return { kind: 'local', name: ref.name, dir: ref.dir };
    return undefined;
  };

  const budget = new PlanBudget(req.maxPlanEntries);
  // stages still to be planned FROM each stage: its build env is dropped after the last of them,
  // or every version of every stage's env stays reachable (quadratic in a chain of stages)
  const children = new Map<number, number>();
  for (const n of nodes) if (reach.has(n.index) && n.base.kind === 'stage') children.set(n.base.index, (children.get(n.base.index) ?? 0) + 1);
  for (const n of nodes) {
    if (!reach.has(n.index)) continue;
    checkAborted(signal);
    const s = newState(n, states, images, targetPlatform);
    if (n.base.kind === 'stage') {
      const left = children.get(n.base.index)! - 1;
      children.set(n.base.index, left);
      if (left === 0) states.get(n.base.index)!.env = EnvList.empty();
    }
    budget.spend(imageEntries(s.image), { ...ctx, stage: n.name }, n.stage.from.range);
    initStageEnv(s);
    const dctx: DispatchContext = {
      lex,
      rawLex,
      runLex,
      globals: meta,
      buildArgs: req.buildArgs,
      proxyEnv: proxy,
      ...(req.runContainer && Object.keys(req.runContainer).length > 0 ? { runContainer: req.runContainer } : {}),
      ...(req.network !== undefined ? { network: req.network } : {}),
      source,
      declared,
      stageName: nodes.length === 1 ? '' : n.name,
      err: { ...ctx, stage: n.name },
    };
    for (const cmd of n.commands) {
      const before = s.steps.length;
      try {
        dispatch(s, cmd, dctx);
      } catch (e) {
        throw isKilnError(e) ? e : withLocation(e, dctx.err, cmd.ins.range);
      }
      // a config item or history entry, and the env a new RUN step keeps
      let made = 1;
      for (let i = before; i < s.steps.length; i++) {
        const step = s.steps[i]!;
        if (step.kind === 'run') made += step.env.length;
      }
      budget.spend(made, dctx.err, cmd.ins.range);
    }
    forgetEnvIndex(s.image.config.Env);
    if (!children.has(n.index)) s.env = EnvList.empty();
    states.set(n.index, s);
  }

  const stages: PlannedStage[] = [];
  for (const n of nodes) {
    const s = states.get(n.index);
    if (!s) continue;
    stages.push({
      index: n.index,
      name: n.name,
      base: stageBase(n, images, targetPlatform),
      platform: s.platform,
      steps: s.steps,
      config: finalConfig(s, n.index === target ? req.labels : undefined),
      history: s.newHistory,
      dependsOn: [...s.dependsOn].sort((a, b) => a - b),
      range: n.stage.range,
      fromRange: n.stage.from.range,
    });
  }
  const warnings: string[] = [];
  const unused = unusedBuildArgsWarning(req.buildArgs, declared);
  if (unused) warnings.push(unused);
  return { stages, target, pruned: nodes.filter((n) => !reach.has(n.index)).map((n) => n.index), warnings };
}

function newState(n: StageNode, states: ReadonlyMap<number, StageState>, images: ImageResolver, target: Platform): StageState {
  if (n.base.kind === 'stage') {
    const parent = states.get(n.base.index);
    if (!parent) throw planError({}, n.stage.from.range, 'INTERNAL', `stage ${n.base.index} was not planned before stage ${n.name}`);
    const img = cloneImage(parent.image);
    delete img.config.OnBuild;
    const s = new StageState(n.index, n.name, parent.platform, img);
    s.env = parent.env;
    // the build env (ARG values too) carries over, the ARG declarations listed in RUN's history
    // text do not: BuildKit 0.13 starts a child stage's buildArgs empty (dockerfile/1.9 copies them)
    s.workdirSet = parent.workdirSet;
    s.dependsOn.add(n.base.index);
    return s;
  }
  // a local named context starts from an empty image, as BuildKit's emptyImage for a context without one
  if (n.base.kind === 'scratch' || n.base.kind === 'local') return new StageState(n.index, n.name, n.platform ?? target, scratchImage(n.platform ?? target));
  const platform = n.platform ?? target;
  const img = imageFromResolved(images.get(n.base.ref, platform));
  // the triggers ran (or were dropped) here, unless an image context replaces the stage: it is
  // the image as it is, triggers included, as in BuildKit
  if (!n.overridden) delete img.config.OnBuild;
  return new StageState(n.index, n.name, platform, img);
}
