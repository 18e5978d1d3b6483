// Test support for plan/ (used by its *.test.ts only): Dockerfile text → BuildRequest, and a fake
// ResolveImage that records its calls and serves configured image configs.
import { parse, toStages } from '../dockerfile/index.js';
import type { ContainerConfig, History, ImageConfig, Platform } from '../image/index.js';
import { planBuild } from './plan.js';
import type { BuildPlan, BuildRequest, PlannedStage, ResolvedImage, ResolveImage, RunStep, Step } from './types.js';

export const AMD64: Platform = { os: 'linux', architecture: 'amd64' };
export const ARM64: Platform = { os: 'linux', architecture: 'arm64', variant: 'v8' };

export interface FakeImage {
  readonly config?: ContainerConfig;
  readonly platform?: Platform;
  readonly history?: readonly History[];
  readonly author?: string;
}

export class FakeResolver {
  readonly calls: { ref: string; platform: Platform }[] = [];
  constructor(private readonly images: Readonly<Record<string, FakeImage>> = {}) {}

  readonly resolve: ResolveImage = async (ref, platform) => {
    this.calls.push({ ref, platform });
    const img = this.images[ref] ?? {};
    const p = img.platform ?? platform;
    const config: ImageConfig = {
      ...(img.author ? { author: img.author } : {}),
      architecture: p.architecture,
      os: p.os,
      ...(p.variant ? { variant: p.variant } : {}),
      config: img.config ?? {},
      rootfs: { type: 'layers', diff_ids: [] },
      history: img.history ?? [],
    };
    return { ref: `docker.io/library/${ref}`, digest: `sha256:${'0'.repeat(63)}${this.calls.length % 10}` as ResolvedImage['digest'], config };
  };

  refs(): string[] {
    return this.calls.map((c) => c.ref).sort();
  }
}

export interface PlanOptions {
  readonly target?: string;
  readonly buildArgs?: Record<string, string>;
  readonly targetPlatform?: Platform;
  readonly buildPlatform?: Platform;
  readonly labels?: Record<string, string>;
  readonly images?: Record<string, FakeImage>;
  readonly maxPlanEntries?: number;
  readonly runContainer?: BuildRequest['runContainer'];
}

export function request(text: string, o: PlanOptions = {}): BuildRequest {
  const ast = parse(text);
  return {
    stages: toStages(ast),
    ...(o.target !== undefined ? { target: o.target } : {}),
    buildArgs: new Map(Object.entries(o.buildArgs ?? {})),
    targetPlatform: o.targetPlatform ?? AMD64,
    buildPlatform: o.buildPlatform ?? AMD64,
    ...(o.labels ? { labels: new Map(Object.entries(o.labels)) } : {}),
    sourceLines: ast.lines,
    file: ast.file,
    escapeToken: ast.directives.escape,
    ...(o.maxPlanEntries !== undefined ? { maxPlanEntries: o.maxPlanEntries } : {}),
    ...(o.runContainer !== undefined ? { runContainer: o.runContainer } : {}),
  };
}

export async function plan(text: string, o: PlanOptions = {}): Promise<{ plan: BuildPlan; resolver: FakeResolver }> {
  const resolver = new FakeResolver(o.images);
  return { plan: await planBuild(request(text, o), resolver.resolve), resolver };
}

export function stageOf(p: BuildPlan, index = p.target): PlannedStage {
  const s = p.stages.find((x) => x.index === index);
  if (!s) throw new Error(`stage ${index} not planned`);
  return s;
}

export function runs(s: PlannedStage): RunStep[] {
  return s.steps.filter((x: Step): x is RunStep => x.kind === 'run');
}

/** KEY → value in a RUN step's env (last wins). */
export function envOf(step: RunStep): Map<string, string> {
  return new Map(step.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as [string, string]));
}

export function createdBy(s: PlannedStage): string[] {
  return s.history.map((h) => h.entry.created_by ?? '');
}
