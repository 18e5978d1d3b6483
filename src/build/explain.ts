// Why a step ran again: compares the named inputs of its key with those of the key the same step
// position used last time (see BuildCache slots) and names the first input that changed, in
// plain words (`package-lock.json changed`, `build arg NODE_ENV changed`, `parent step re-ran`).
import type { KeyInputs } from './cache.js';

/** One step's cache decision, for `kiln build --explain`. */
export interface StepDecision {
  readonly stage: string;
  readonly pos: string;
  readonly display: string;
  readonly key: string;
  readonly cached: boolean;
  /** Why it ran; for a hit, only where it came from when not the local cache (`from the registry cache …`). */
  readonly reason?: string;
  readonly inputs: KeyInputs;
  /** For a local hit: when the reused result was made (the matched record's time). */
  readonly resultFrom?: string;
  /** Context files hashed for this step, and how many of them had to be read (stat cache misses). */
  readonly contextFiles?: { readonly hashed: number; readonly read: number };
  /** A COPY that ran: how many unchanged files it linked from its previous result (copy/reuse.ts). */
  readonly reusedFiles?: number;
}

/** `docker.io/library/node:20` → `node:20` (how users write it). */
export function shortRef(ref: string): string {
  return ref.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

function firstDiff(prev: Readonly<Record<string, string>>, cur: Readonly<Record<string, string>>): { path: string; how: 'changed' | 'added' | 'removed' } | undefined {
  for (const [p, d] of Object.entries(cur)) {
    const was = prev[p];
    if (was === undefined) return { path: p, how: 'added' };
    if (was !== d) return { path: p, how: 'changed' };
  }
  for (const p of Object.keys(prev)) if (!(p in cur)) return { path: p, how: 'removed' };
  return undefined;
}

/**
 * The first input of `cur` that differs from `prev`, in the order a user thinks about them: the
 * base image, the parent step, build args, the instruction itself, files read, other stages' files.
 */
export function missReason(prev: KeyInputs | undefined, cur: KeyInputs, parentRan: boolean): string {
  if (!prev) return 'no previous build';
  if (cur.base !== undefined && prev.base !== cur.base) {
    const [ref, digest] = splitRef(cur.base);
    const [pref] = splitRef(prev.base ?? '');
    return pref === ref || prev.base === undefined ? `base image ${shortRef(ref)} now resolves to ${digest}` : `base image changed to ${shortRef(ref)} (${digest})`;
  }
  if (prev.parent !== cur.parent) return parentRan ? 'parent step re-ran' : 'parent step changed';
  if (prev.definition !== cur.definition) {
    const args = firstDiff(prev.buildArgs ?? {}, cur.buildArgs ?? {});
    if (args) return args.how === 'changed' ? `build arg ${args.path} changed` : args.how === 'added' ? `build arg ${args.path} set` : `build arg ${args.path} unset`;
    return 'instruction changed';
  }
  if ((prev.content ?? '') !== (cur.content ?? '')) {
    const f = firstDiff(prev.files ?? {}, cur.files ?? {});
    if (f) return f.how === 'changed' ? `${f.path} changed` : f.how === 'added' ? `${f.path} was added` : `${f.path} was removed`;
    return 'files read from the context changed (directories, links or metadata)';
  }
  const ps = prev.sources ?? {};
  for (const [label, d] of Object.entries(cur.sources ?? {})) {
    if (ps[label] === d) continue;
    const f = firstDiff(prev.sourceFiles?.[label] ?? {}, cur.sourceFiles?.[label] ?? {});
    if (f) return `${f.path} in ${label} ${f.how === 'changed' ? 'changed' : f.how === 'added' ? 'was added' : 'was removed'}`;
    return `files read from ${label} changed`;
  }
  return 'cached result was removed (pruned)';
}

function splitRef(s: string): [string, string] {
  const at = s.lastIndexOf('@');
  return at < 0 ? [s, ''] : [s.slice(0, at), s.slice(at + 1)];
}

/** `kiln build --explain`: every step's key inputs and what matched. */
export function formatDecisions(decisions: readonly StepDecision[]): string {
  const out: string[] = ['cache decisions:'];
  for (const d of decisions) {
    out.push(`[${d.stage} ${d.pos}] ${d.display}`);
    out.push(`  ${d.cached ? `CACHED${d.reason !== undefined ? ` ${d.reason}` : ''}${d.resultFrom !== undefined ? ` (matched the result made ${d.resultFrom})` : ''}` : `ran: ${d.reason ?? ''}`}`);
    out.push(`  key ${d.key.slice(0, 16)}  parent ${d.inputs.parent.slice(0, 16)}  definition ${d.inputs.definition.slice(0, 16)}`);
    if (d.inputs.base !== undefined) out.push(`  base image ${d.inputs.base}`);
    const args = Object.entries(d.inputs.buildArgs ?? {});
    if (args.length) out.push(`  build args ${args.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    if (d.inputs.content !== undefined) {
      const n = Object.keys(d.inputs.files ?? {}).length;
      const read = d.contextFiles ? `, ${d.contextFiles.read} read, ${d.contextFiles.hashed - d.contextFiles.read} from the stat cache` : '';
      out.push(`  context ${d.inputs.content.slice(0, 23)} (${n} file${n === 1 ? '' : 's'}${read})`);
    }
    for (const [label, dg] of Object.entries(d.inputs.sources ?? {})) out.push(`  from ${label} ${dg.slice(0, 23)}`);
    if (d.reusedFiles !== undefined) out.push(`  ${d.reusedFiles} unchanged file${d.reusedFiles === 1 ? '' : 's'} linked from the previous result`);
  }
  return out.join('\n') + '\n';
}
