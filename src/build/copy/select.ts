// What a COPY reads: sources resolved to matches (wildcards, symlinks followed at the top, the
// .dockerignore'd paths invisible), then each match walked into an ordered entry list with
// --exclude / --parents include patterns applied like fsutil's copier. Both the copy and the
// cache-key hash consume the same lists, so the key covers exactly what is copied.
import { KilnError } from '../../errors.js';
import type { IgnoreMatcher } from '../../context/index.js';
import { FilepathPattern, lstatMany, readdirNames, type FileStat, type Turns } from '../../support/index.js';
import {
  baseName, cleanSourcePath, containsWildcards, joinRel, lstatOrUndefined, outsideError, resolveRel, splitWildcards,
  type SourceKind,
} from './paths.js';

/** The source tree and what hides parts of it. */
export interface SourceTree {
  readonly root: string;
  readonly kind: SourceKind;
  readonly ignore?: IgnoreMatcher | undefined;
  /** Walks give the event loop a turn through this (signals, timers) and stop when the build is aborted. */
  readonly turns?: Turns | undefined;
}

/** Gives the event loop a turn when one is due (see Turns). */
async function pace(tree: SourceTree): Promise<void> {
  if (tree.turns?.due()) await tree.turns.give();
}

/** One path a source names (after wildcard expansion and following a top-level symlink). */
export interface Match {
  /** The source as written in the Dockerfile. */
  readonly source: string;
  /** Name used when the match lands inside a directory (basename of the unresolved path). */
  readonly name: string;
  /** Resolved path relative to the tree root ('' = the root). */
  readonly rel: string;
  readonly abs: string;
  readonly st: FileStat;
}

/** One item of a walked match, in copy order (pre-order, names sorted). */
export interface Entry {
  /** Path relative to the match ('' = the match itself). */
  readonly rel: string;
  readonly abs: string;
  readonly st: FileStat;
  /** 'open'/'close' bracket a directory's children; 'leaf' is anything else. */
  readonly kind: 'open' | 'close' | 'leaf';
  /** A directory copied only as the parent of included paths (created if missing, never overwritten). */
  readonly parentOnly: boolean;
}

export interface WalkFilters {
  /** Only these (and their parents) are copied (--parents). Matched against Entry.rel. */
  readonly include?: { readonly matcher: IgnoreMatcher; readonly patterns: readonly string[] } | undefined;
  /** --exclude patterns, matched against Entry.rel. */
  readonly exclude?: IgnoreMatcher | undefined;
}

export function notFound(tree: SourceTree, rel: string, source: string, ignored = false): KilnError {
  const shown = `/${rel}`;
  const hint = ignored
    ? `${JSON.stringify(source)} is excluded by .dockerignore; remove the matching pattern or add an exception (!pattern)`
    : tree.kind === 'context'
      ? 'check that the path exists in the build context (paths are relative to the context directory)'
      : 'check that the path exists in the source stage or image (paths are absolute there)';
  return new KilnError('CONTEXT_PATH_NOT_FOUND', `${JSON.stringify(shown)}: not found`, { hint });
}

/** Whether the context path `rel` (an existing entry with stats `st`) is part of the context. */
async function visible(tree: SourceTree, rel: string, st: FileStat): Promise<boolean> {
  const ig = tree.ignore;
  if (!ig || rel === '' || !ig.excluded(rel)) return true;
  await pace(tree);
  if (!st.isDirectory() || ig.canSkipDir(rel)) return false;
  // an ignored directory is still there (as a parent) when something beneath is re-included
  return hasVisibleDescendant(tree, `${tree.root}/${rel}`, rel);
}

/**
 * A directory's names: an error for one that is not UTF-8 (shown by its path in the tree), unless
 * .dockerignore leaves it out.
 */
function namesIn(tree: SourceTree, abs: string, rel: string): string[] {
  const ig = tree.kind === 'context' ? tree.ignore : undefined;
  return readdirNames(abs, tree.kind === 'context' ? `./${rel}` : `/${rel}`, ig ? (name) => ig.excluded(joinRel(rel, name)) : undefined);
}

async function hasVisibleDescendant(tree: SourceTree, abs: string, rel: string): Promise<boolean> {
  for (const name of namesIn(tree, abs, rel)) {
    await pace(tree);
    const r = `${rel}/${name}`;
    const st = lstatOrUndefined(`${abs}/${name}`);
    if (st && (await visible(tree, r, st))) return true;
  }
  return false;
}

/** Resolves the source `rel` (following a top-level symlink) into a match, or undefined when it is absent or hidden. */
async function matchAt(tree: SourceTree, source: string, name: string, rel: string): Promise<Match | { missing: string; ignored: boolean }> {
  const resolved = resolveRel(tree.root, tree.kind, rel, true, source);
  const abs = resolved === '' ? tree.root : `${tree.root}/${resolved}`;
  const st = lstatOrUndefined(abs);
  if (!st) return { missing: rel, ignored: false };
  if (tree.kind === 'context') {
    // every resolved component must be part of the context
    const parts = resolved.split('/');
    for (let i = 1; i <= parts.length && resolved !== ''; i++) {
      const r = parts.slice(0, i).join('/');
      const s = i === parts.length ? st : lstatOrUndefined(`${tree.root}/${r}`);
      if (!s || !(await visible(tree, r, s))) return { missing: rel, ignored: true };
    }
  }
  return { source, name, rel: resolved, abs, st };
}

/**
 * The matches of one (non-URL) source. A path without wildcards must exist (else
 * CONTEXT_PATH_NOT_FOUND); a wildcard may match nothing (BuildKit's AllowEmptyWildcard).
 */
export async function resolveSource(tree: SourceTree, source: string): Promise<Match[]> {
  const trailingSlash = source.endsWith('/');
  const rel = cleanSourcePath(source);
  if (rel === '..' || rel.startsWith('../')) {
    if (tree.kind === 'context') throw outsideError(source, 'the path leaves the build context');
  }
  const relIn = rel.replace(/^(\.\.\/)+/, '').replace(/^\.\.$/, '');
  if (!containsWildcards(relIn)) {
    const m = await matchAt(tree, source, baseName(relIn), relIn);
    if ('missing' in m) throw notFound(tree, m.missing, source, m.ignored);
    if (trailingSlash && !m.st.isDirectory()) throw notFound(tree, relIn, source);
    return [m];
  }
  const { literal, pattern } = splitWildcards(relIn);
  const pat = new FilepathPattern(pattern);
  const baseRel = resolveRel(tree.root, tree.kind, literal, true, source);
  const baseAbs = baseRel === '' ? tree.root : `${tree.root}/${baseRel}`;
  const baseSt = lstatOrUndefined(baseAbs);
  if (!baseSt?.isDirectory()) return [];
  if (tree.kind === 'context' && baseRel !== '' && !(await visible(tree, baseRel, baseSt))) return [];
  // a match is at most as deep as the pattern has components ('/' only crosses in a class)
  const maxDepth = pattern.split('/').length + (pattern.match(/\[/g)?.length ?? 0);
  const out: Match[] = [];
  const walk = async (dirAbs: string, dirRel: string, depth: number): Promise<void> => {
    for (const name of namesIn(tree, dirAbs, dirRel).sort()) {
      await pace(tree);
      const r = joinRel(dirRel, name);
      const abs = `${dirAbs}/${name}`;
      const st = lstatOrUndefined(abs);
      if (!st) continue;
      const ctxRel = joinRel(baseRel, r);
      if (tree.kind === 'context' && !(await visible(tree, ctxRel, st))) continue;
      if (pat.match(r)) {
        const m = await matchAt(tree, source, name, joinRel(literal, r));
        if ('missing' in m) throw notFound(tree, m.missing, source, m.ignored);
        out.push(m);
        continue; // a matched directory is copied whole, not searched
      }
      if (st.isDirectory() && depth + 1 < maxDepth) await walk(abs, r, depth + 1);
    }
  };
  await walk(baseAbs, '', 0);
  return out;
}

/** fsutil-style "could a pattern match something strictly beneath `dir`" for include patterns. */
function mayIncludeBeneath(patterns: readonly string[], dir: string): boolean {
  const dirSlash = `${dir}/`;
  for (const p of patterns) {
    const stop = p.search(/[*?[\\]/);
    if (stop === 0) return true;
    const lit = stop < 0 ? p : p.slice(0, stop);
    if (lit.startsWith(dirSlash) || dirSlash.startsWith(lit)) return true;
  }
  return false;
}

/** Walks one match into its entry list (see Entry). */
export async function walkMatch(tree: SourceTree, m: Match, filters: WalkFilters): Promise<Entry[]> {
  const out: Entry[] = [];
  if (!m.st.isDirectory()) {
    out.push({ rel: '', abs: m.abs, st: m.st, kind: 'leaf', parentOnly: false });
    return out;
  }
  const inc = filters.include;
  const exc = filters.exclude;
  const excHasExceptions = exc?.hasExceptions ?? false;
  const ctxIgnore = tree.kind === 'context' && tree.ignore && !tree.ignore.empty ? tree.ignore : undefined;

  const walkDir = async (abs: string, rel: string, ctxRel: string, excluded: boolean, sink: Entry[]): Promise<void> => {
    if (excluded && !excHasExceptions) return;
    const names = namesIn(tree, abs, ctxRel).sort();
    // one native call for the whole directory; an entry skipped below is never looked at
    const stats = lstatMany(abs, names);
    for (let k = 0; k < names.length; k++) {
      await pace(tree);
      const name = names[k]!;
      const r = joinRel(rel, name);
      const cr = joinRel(ctxRel, name);
      const childAbs = `${abs}/${name}`;
      let hiddenDir = false;
      if (ctxIgnore && ctxIgnore.excluded(cr)) {
        if (ctxIgnore.canSkipDir(cr)) continue;
        hiddenDir = true; // present only if something beneath is re-included
      }
      let include = inc ? inc.matcher.excluded(r) : true;
      let isExcluded = false;
      if (exc && exc.excluded(r)) {
        include = false;
        isExcluded = true;
      }
      if (!include && !inc && !excHasExceptions) continue;
      const st = stats.get(k);
      if (!st) continue;
      if (!st.isDirectory()) {
        if (include && !hiddenDir) sink.push({ rel: r, abs: childAbs, st, kind: 'leaf', parentOnly: false });
        continue;
      }
      if (!include && inc && !isExcluded && !mayIncludeBeneath(inc.patterns, r)) continue;
      const children: Entry[] = [];
      await walkDir(childAbs, r, cr, isExcluded, children);
      if (hiddenDir && children.length === 0) continue;
      if (include || children.length > 0) {
        const parentOnly = !include;
        sink.push({ rel: r, abs: childAbs, st, kind: 'open', parentOnly });
        for (const c of children) sink.push(c);
        sink.push({ rel: r, abs: childAbs, st, kind: 'close', parentOnly });
      }
    }
  };
  out.push({ rel: '', abs: m.abs, st: m.st, kind: 'open', parentOnly: false });
  await walkDir(m.abs, '', m.rel, false, out);
  out.push({ rel: '', abs: m.abs, st: m.st, kind: 'close', parentOnly: false });
  return out;
}
