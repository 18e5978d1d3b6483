// The stage graph (BuildKit's buildDispatchStates / toCommand / validateCircularDependency /
// allReachableStages): FROM bases expanded with the global args, the target, COPY --from and
// RUN --mount from= references, cycles, and the stages the target reaches.
import type { SourceRange } from '../errors.js';
import { suggest, type Instruction, type ShellLex, type Stage } from '../dockerfile/index.js';
import { parsePlatform, type Platform } from '../image/index.js';
import { parseReference } from '../registry/index.js';
import type { EnvList } from './env.js';
import { located, planError, type ErrorContext } from './fail.js';
import type { NamedLookup } from './contexts.js';

/** What a COPY --from / RUN --mount from= / FROM names. */
export type Ref =
  | { readonly kind: 'stage'; readonly index: number }
  | { readonly kind: 'image'; readonly ref: string }
  | { readonly kind: 'scratch' }
  /** A named local context (`--build-context NAME=DIR`). */
  | { readonly kind: 'local'; readonly name: string; readonly dir: string };

export interface Command {
  readonly ins: Instruction;
  /** COPY: [from] when --from is given; RUN: one per mount (undefined: no from=). */
  readonly sources: readonly (Ref | undefined)[];
  /** An ONBUILD trigger run at the start of the stage. */
  readonly onbuild: boolean;
}

export interface StageNode {
  readonly index: number;
  readonly stage: Stage;
  /** Display name: the AS name, else `stage-N`. */
  readonly name: string;
  /** The FROM base after expansion with the global args. */
  readonly baseName: string;
  readonly base: Ref;
  /** FROM --platform, expanded and parsed. */
  readonly platform?: Platform;
  /** A named context has the stage's name: it replaces the stage, whose instructions never run (BuildKit). */
  readonly overridden: boolean;
  commands: Command[];
  /** ONBUILD triggers already added. */
  onbuildInit: boolean;
}

const EMPTY_ENV = (): undefined => undefined;
const NO_CONTEXTS: NamedLookup = () => undefined;

export function displayName(stage: Stage): string {
  return stage.name ?? `stage-${stage.index}`;
}

/** Expands each FROM with the global args and links `FROM <earlier stage>`. */
export function buildStageNodes(stages: readonly Stage[], globals: EnvList, lex: ShellLex, host: Platform, ctx: ErrorContext, named: NamedLookup = NO_CONTEXTS): StageNode[] {
  const nodes: StageNode[] = [];
  const byName = new Map<string, number>();
  for (const st of stages) {
    const loc = st.from.range;
    const sctx = { ...ctx, stage: displayName(st) };
    const baseName = located(sctx, loc, () => lex.processWord(st.base, globals.lookup).result, 'ARG_EXPANSION');
    if (baseName === '') throw planError(sctx, loc, 'DOCKERFILE_SYNTAX', `base name (${st.base}) should not be blank`, 'the FROM expands to nothing: give the ARG a default or pass --build-arg');
    let platform: Platform | undefined;
    if (st.platform !== undefined) {
      const raw = st.platform;
      const v = located(sctx, loc, () => lex.processWord(raw, globals.lookup).result, 'ARG_EXPANSION');
      if (v === '') throw planError(sctx, loc, 'PLATFORM_INVALID', `empty platform value from expression ${raw}`, suggestArg(raw, globals));
      platform = located(sctx, loc, () => parsePlatform(v, host), 'PLATFORM_INVALID');
    }
    let base: Ref;
    const earlier = byName.get(baseName);
    // BuildKit checks a stage's own name against the named contexts before anything else
    const replaced = st.name !== undefined ? named(st.name) : undefined;
    const context = replaced ?? (earlier === undefined ? named(baseName) : undefined);
    if (replaced) base = replaced;
    else if (earlier !== undefined) base = { kind: 'stage', index: earlier };
    else if (context) base = context;
    else if (baseName === 'scratch') base = { kind: 'scratch' };
    else {
      const ci = byName.get(baseName.toLowerCase());
      if (ci !== undefined) {
        throw planError(sctx, loc, 'STAGE_NOT_FOUND', `base name "${baseName}" is not a valid image reference (stage names are lower-case)`, `write FROM ${baseName.toLowerCase()} to build on stage ${ci}`);
      }
      checkImageRef(baseName, sctx, loc, 'FROM');
      base = { kind: 'image', ref: baseName };
    }
    nodes.push({ index: st.index, stage: st, name: displayName(st), baseName, base, ...(platform ? { platform } : {}), overridden: replaced !== undefined, commands: [], onbuildInit: false });
    if (st.name !== undefined) byName.set(st.name, st.index);
  }
  return nodes;
}

/**
 * BuildKit parses every image a stage names (FROM, COPY --from, RUN --mount from=) before it
 * resolves any: a reference that does not parse is an error at its line, reachable or not.
 */
function checkImageRef(ref: string, ctx: ErrorContext, range: SourceRange, where: 'FROM' | '--from' | 'from='): void {
  try {
    parseReference(ref);
  } catch (e) {
    const raw = e instanceof Error ? e.message : String(e);
    const tail = `: ${JSON.stringify(ref)}`;
    const why = raw.endsWith(tail) ? raw.slice(0, -tail.length) : raw;
    const shape = 'an image reference looks like [registry[:port]/]name[:tag][@sha256:digest], with a lowercase name';
    const hint = where === 'FROM' ? shape : `${where} takes a stage name, a stage index or an image; ${shape}`;
    throw planError(ctx, range, 'REFERENCE_INVALID', `failed to parse stage name ${JSON.stringify(ref)}: ${why}`, hint);
  }
}

/** An image named by COPY --from / RUN --mount from=, once checked. */
function imageRef(ref: string, ctx: ErrorContext, range: SourceRange, where: '--from' | 'from='): Ref {
  checkImageRef(ref, ctx, range, where);
  return { kind: 'image', ref };
}

function suggestArg(expr: string, globals: EnvList): string | undefined {
  const m = /\$\{?([A-Za-z_][A-Za-z0-9_]*)/.exec(expr);
  const s = m ? suggest(m[1]!, globals.keys(), true) : undefined;
  return s ? `did you mean ${s}?` : undefined;
}

/** `--target` (case-insensitive) or the last stage. */
export function resolveTarget(nodes: readonly StageNode[], target: string | undefined, ctx: ErrorContext): number {
  if (target === undefined || target === '') return nodes.length - 1;
  const lower = target.toLowerCase();
  const found = nodes.find((n) => n.stage.name === lower);
  if (found) return found.index;
  const names = nodes.flatMap((n) => (n.stage.name === undefined ? [] : [n.stage.name]));
  const s = suggest(target, names, false);
  throw planError({ ...ctx }, [], 'TARGET_NOT_FOUND', `target stage "${target}" could not be found`, s ? `did you mean ${s}?` : names.length ? `stages: ${names.join(', ')}` : 'name a stage with FROM <image> AS <name>');
}

function findByName(nodes: readonly StageNode[], name: string): number | undefined {
  const lower = name.toLowerCase();
  return nodes.find((n) => n.stage.name === lower)?.index;
}

/** BuildKit's toCommand: resolves COPY --from and RUN --mount from= to a stage, scratch or an image. */
export function toCommand(ins: Instruction, nodes: readonly StageNode[], lex: ShellLex, onbuild: boolean, ctx: ErrorContext, named: NamedLookup = NO_CONTEXTS): Command {
  if (ins.kind === 'COPY' && ins.from !== undefined && ins.from !== '') {
    const from = ins.from;
    const res = located(ctx, ins.range, () => lex.processWord(from, EMPTY_ENV).result, 'ARG_EXPANSION');
    if (res !== from) {
      throw planError(ctx, ins.range, 'INVALID_FLAG', 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
    }
    let ref: Ref;
    if (/^[+-]?[0-9]+$/.test(from)) {
      const index = Number(from);
      if (index < 0 || index >= nodes.length) {
        throw planError(ctx, ins.range, 'STAGE_NOT_FOUND', `invalid stage index ${index}`, `stage indexes run from 0 to ${nodes.length - 1}`);
      }
      ref = { kind: 'stage', index };
    } else {
      const index = findByName(nodes, from);
      ref = index !== undefined ? { kind: 'stage', index } : (named(from) ?? (from === 'scratch' ? { kind: 'scratch' } : imageRef(from, ctx, ins.range, '--from')));
    }
    return { ins, sources: [ref], onbuild };
  }
  if (ins.kind === 'RUN') {
    const sources = ins.mounts.map((m): Ref | undefined => {
      if (m.from === undefined || m.from === '') return undefined;
      const index = findByName(nodes, m.from);
      if (index !== undefined) return { kind: 'stage', index };
      return named(m.from) ?? (m.from === 'scratch' ? { kind: 'scratch' } : imageRef(m.from, ctx, ins.range, 'from='));
    });
    return { ins, sources, onbuild };
  }
  return { ins, sources: [], onbuild };
}

/** Stage indexes a stage needs first, with the instruction that needs each (base stage: undefined). */
export function stageDeps(node: StageNode): Map<number, Command | undefined> {
  const deps = new Map<number, Command | undefined>();
  if (node.base.kind === 'stage') deps.set(node.base.index, undefined);
  for (const c of node.commands) for (const s of c.sources) if (s?.kind === 'stage' && !deps.has(s.index)) deps.set(s.index, c);
  return deps;
}

/** BuildKit's validateCircularDependency over COPY --from / mount from= edges. */
export function checkCycles(nodes: readonly StageNode[], ctx: ErrorContext): void {
  // a depth-first walk with its own stack: a chain of thousands of stages would overflow Node's
  const visited = new Set<number>();
  const edgesOf = (n: StageNode): { to: number; range: SourceRange }[] =>
    n.commands.flatMap((c) => c.sources.flatMap((s) => (s?.kind === 'stage' ? [{ to: s.index, range: c.ins.range }] : [])));
  for (const root of nodes) {
    if (visited.has(root.index)) continue;
    const onPath = new Set<number>();
    const path: SourceRange[] = []; // the edges taken to reach the top frame
    const frames: { index: number; edges: { to: number; range: SourceRange }[]; next: number }[] = [];
    const enter = (n: StageNode): void => {
      visited.add(n.index);
      onPath.add(n.index);
      frames.push({ index: n.index, edges: edgesOf(n), next: 0 });
    };
    enter(root);
    while (frames.length > 0) {
      const f = frames[frames.length - 1]!;
      const e = f.edges[f.next++];
      if (e === undefined) {
        onPath.delete(f.index);
        frames.pop();
        path.pop();
        continue;
      }
      if (onPath.has(e.to)) {
        // BuildKit wraps the error with each command's location in path order, so the one it
        // shows first is the last: the COPY/mount that closes the cycle. The message names the
        // stage the cycle comes back to (BuildKit names the stage its walk started from, which
        // is that one unless the walk entered the cycle from outside; with a single stage its
        // name is blank there), the stage detail the one that holds the line shown first.
        const cycle = [...frames.slice(frames.findIndex((x) => x.index === e.to)).map((x) => nodes[x.index]!.name), nodes[e.to]!.name];
        throw planError(
          { ...ctx, stage: nodes[f.index]!.name },
          [...path, e.range].reverse(),
          'STAGE_CYCLE',
          `circular dependency detected on stage: ${nodes[e.to]!.name}`,
          `${cycleText(cycle)}: a stage cannot copy or mount from itself or from a stage that depends on it`,
        );
      }
      if (visited.has(e.to)) continue;
      path.push(e.range);
      enter(nodes[e.to]!);
    }
  }
}

/** `stage a copies or mounts from b, b from a` for the cycle [a, b, a]. */
function cycleText(cycle: readonly string[]): string {
  if (cycle.length <= 2) return `stage ${cycle[0]} copies or mounts from itself`;
  const steps = cycle.slice(1).map((to, i) => (i === 0 ? `${cycle[0]} copies or mounts from ${to}` : `${cycle[i]} from ${to}`));
  return `stage ${steps.join(', ')}`;
}

/** The stages `target` reaches through its base and COPY --from / mount from= (itself included). */
export function reachable(nodes: readonly StageNode[], target: number): Set<number> {
  const seen = new Set<number>([target]);
  const todo = [target]; // not recursion: a chain of thousands of stages would overflow the stack
  for (let i = todo.pop(); i !== undefined; i = todo.pop()) {
    for (const d of stageDeps(nodes[i]!).keys()) {
      if (seen.has(d)) continue;
      seen.add(d);
      todo.push(d);
    }
  }
  return seen;
}
