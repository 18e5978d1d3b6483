// .dockerignore with Docker's exact semantics: moby/patternmatcher/ignorefile.ReadAll to read
// the file, then patternmatcher's MatchesOrParentMatches to decide. Patterns are anchored at
// the context root, `*` and `?` stop at '/', `**` crosses directories, `[^a]` negates while
// `[!a]` is the two characters '!' and 'a', `!pattern` re-includes, the last matching pattern
// wins, and a pattern matching a parent directory applies to everything beneath it.
import { KilnError, type SourceRange } from '../errors.js';
import { filepathMatch, goCleanPath, goTrimSpace } from '../support/index.js';
import { Re2Error, re2Tokens } from './re2.js';
import { Re2Nfa } from './re2-nfa.js';

/** The patterns of a .dockerignore file, in order, with the 1-based line each came from. */
export interface IgnorePatterns {
  readonly patterns: readonly string[];
  readonly lines: readonly number[];
  readonly file: string;
}

/**
 * Reads .dockerignore text like Docker's ignorefile.ReadAll: strips a UTF-8 BOM, skips lines
 * starting with `#` (checked before trimming), trims whitespace, skips empty lines, and for
 * the rest applies filepath.Clean and drops a leading '/' (keeping a leading `!`, with the
 * whitespace after it removed: `! /a/b` → `!a/b`).
 */
export function parseDockerignore(text: string, file = '.dockerignore'): IgnorePatterns {
  const patterns: string[] = [];
  const lines: number[] = [];
  const raw = text.split('\n');
  if (raw[raw.length - 1] === '') raw.pop(); // bufio.Scanner yields no empty last line
  raw.forEach((l, i) => {
    let line = l.endsWith('\r') ? l.slice(0, -1) : l;
    if (i === 0 && line.startsWith('\ufeff')) line = line.slice(1);
    if (line.startsWith('#')) return;
    let pattern = goTrimSpace(line);
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = goCleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? '!' + pattern : pattern);
    lines.push(i + 1);
  });
  return { patterns, lines, file };
}

type Kind = 'exact' | 'prefix' | 'suffix' | 'regexp';

// Characters patternmatcher escapes when building its regexp (special to regexps, not to Match).
const SHOULD_ESCAPE = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** One compiled pattern (patternmatcher's Pattern). */
class IgnorePattern {
  readonly kind: Kind;
  /** The Go regexp patternmatcher builds (kept for tests and error messages). */
  readonly goRegexp: string;
  /** Matches like Go's regexp, in linear time (a JS RegExp can take exponential time). */
  readonly regexp: Re2Nfa | undefined;
  /** Literal text that every path this pattern matches starts with ('' when none is known). */
  readonly literal: string;

  constructor(
    readonly cleaned: string,
    readonly exclusion: boolean,
  ) {
    let reg = '^';
    let kind: Kind = 'exact';
    const cps = Array.from(cleaned);
    let k = cps[0] === '\ufeff' ? 1 : 0; // Go's text/scanner skips a leading BOM
    for (let i = 0; k < cps.length; i++) {
      const ch = cps[k++]!;
      if (ch === '*') {
        if (cps[k] === '*') {
          k++;
          if (cps[k] === '/') k++; // `**/` is treated as `**`
          if (k >= cps.length) {
            // `**` at the end: everything below (like .gitignore)
            if (kind === 'exact') kind = 'prefix';
            else {
              reg += '.*';
              kind = 'regexp';
            }
          } else {
            reg += '(.*/)?';
            kind = 'regexp';
          }
          if (i === 0) kind = 'suffix';
        } else {
          reg += '[^/]*';
          kind = 'regexp';
        }
      } else if (ch === '?') {
        reg += '[^/]';
        kind = 'regexp';
      } else if (SHOULD_ESCAPE.has(ch)) {
        reg += '\\' + ch;
      } else if (ch === '\\') {
        if (k < cps.length) {
          reg += '\\' + cps[k++]!;
          kind = 'regexp';
        } else {
          reg += '\\';
        }
      } else if (ch === '[' || ch === ']') {
        reg += ch;
        kind = 'regexp';
      } else {
        reg += ch;
      }
    }
    this.kind = kind;
    this.goRegexp = kind === 'regexp' ? reg + '$' : '';
    this.regexp = kind === 'regexp' ? new Re2Nfa(re2Tokens(this.goRegexp)) : undefined;
    this.literal = literalStart(kind, cleaned);
  }

  /** The first path component of every path this pattern (or a parent) matches, if fixed. */
  get firstComponent(): string | undefined {
    const slash = this.literal.indexOf('/');
    return slash > 0 ? this.literal.slice(0, slash) : undefined;
  }

  match(path: string): boolean {
    switch (this.kind) {
      case 'exact':
        return path === this.cleaned;
      case 'prefix':
        return path.startsWith(this.cleaned.slice(0, -2));
      case 'suffix': {
        const suffix = this.cleaned.slice(2);
        if (path.endsWith(suffix)) return true;
        return suffix.startsWith('/') && path === suffix.slice(1); // `**/foo` matches `foo`
      }
      case 'regexp':
        return this.regexp!.test(path);
    }
  }

  /**
   * False only when no path strictly beneath `dir` can match. Conservative: it compares the
   * literal start of the pattern (before any wildcard) with `dir/`.
   */
  mayMatchBeneath(dir: string): boolean {
    const dirSlash = dir + '/';
    if (this.kind === 'exact') return this.cleaned.startsWith(dirSlash);
    const lit = this.literal;
    return lit.startsWith(dirSlash) || dirSlash.startsWith(lit);
  }
}

/**
 * What every match of a pattern starts with: all of an exact pattern, a prefix pattern
 * without its `**`, and for a regexp the text before the first character that is special
 * there (`*?[]\^`; the others are escaped). patternmatcher skips a leading BOM: none then.
 */
function literalStart(kind: Kind, cleaned: string): string {
  switch (kind) {
    case 'exact':
      return cleaned;
    case 'prefix':
      return cleaned.slice(0, -2);
    case 'suffix':
      return '';
    case 'regexp': {
      if (cleaned.startsWith('\ufeff')) return '';
      const stop = cleaned.search(/[*?[\]\\^]/);
      return stop < 0 ? cleaned : cleaned.slice(0, stop);
    }
  }
}

function badPattern(message: string, where: IgnorePatterns | undefined, index: number, cause?: unknown): KilnError {
  const line = where?.lines[index];
  const location: SourceRange[] | undefined =
    where && line !== undefined ? [{ file: where.file, startLine: line, endLine: line }] : undefined;
  // the location is shown as `FILE:LINE: ` before the message by the error formatter
  return new KilnError('PATTERN_INVALID', message, {
    ...(cause !== undefined ? { cause } : {}),
    ...(location ? { location } : {}),
    hint: 'fix or remove this .dockerignore line (see https://docs.docker.com/build/concepts/context/#dockerignore-files)',
  });
}

/** Decides which context paths .dockerignore leaves out (patternmatcher.PatternMatcher). */
export class IgnoreMatcher {
  readonly #patterns: IgnorePattern[] = [];
  /** True when some pattern is an exception (`!...`). */
  readonly hasExceptions: boolean;

  /**
   * Accepts the result of parseDockerignore or plain pattern strings. Throws KilnError
   * PATTERN_INVALID for a lone `!` or a malformed pattern (as Docker does for the whole build).
   */
  constructor(input: IgnorePatterns | readonly string[]) {
    const where = Array.isArray(input) ? undefined : (input as IgnorePatterns);
    const list: readonly string[] = where ? where.patterns : (input as readonly string[]);
    list.forEach((raw, index) => {
      let p = goTrimSpace(raw);
      if (p === '') return;
      p = goCleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw badPattern('illegal exclusion pattern: "!"', where, index);
        exclusion = true;
        p = p.slice(1);
      }
      // Like patternmatcher: Go's filepath.Match against "." for the syntax check...
      try {
        filepathMatch(p, '.');
      } catch (e) {
        throw badPattern(`syntax error in pattern ${JSON.stringify(p)}`, where, index, e);
      }
      // ...and the regexp built from the pattern must compile (Go reports this on first use).
      try {
        this.#patterns.push(new IgnorePattern(p, exclusion));
      } catch (e) {
        if (e instanceof Re2Error) throw badPattern(`syntax error in pattern ${JSON.stringify(p)}`, where, index, e);
        throw e;
      }
    });
    this.hasExceptions = this.#patterns.some((p) => p.exclusion);
    this.#patterns.forEach((p, i) => {
      const first = p.firstComponent;
      const list = first === undefined ? this.#anywhere : this.#byFirst.get(first);
      if (list !== undefined) list.push(i);
      else this.#byFirst.set(first!, [i]);
    });
  }

  /** Indices of the patterns that can only match below one top-level name, by that name... */
  readonly #byFirst = new Map<string, number[]>();
  /** ...and of the others. A file is only tested against its name's and these (in order). */
  readonly #anywhere: number[] = [];

  /** Indices, in order, of the patterns that may match `relPath` or one of its parents. */
  #candidates(relPath: string): readonly number[] {
    const slash = relPath.indexOf('/');
    const named = this.#byFirst.get(slash < 0 ? relPath : relPath.slice(0, slash));
    return named === undefined ? this.#anywhere : mergeSorted(named, this.#anywhere);
  }

  /** True when there are no patterns at all (nothing is ever excluded). */
  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /**
   * Whether the context-relative, slash-separated, clean path (no `./`, no trailing '/') is left
   * out of the build context (MatchesOrParentMatches). The context root ('' or '.') never is.
   */
  excluded(relPath: string): boolean {
    if (relPath === '' || relPath === '.' || this.#patterns.length === 0) return false;
    // The last pattern that matches decides; the others cannot match (see #candidates).
    const { candidates, parents } = this.#parentMatches(relPath);
    let matched = false;
    for (let k = 0; k < candidates.length; k++) {
      const pattern = this.#patterns[candidates[k]!]!;
      // An inclusion only matters while not excluded, an exception only while excluded.
      if (pattern.exclusion !== matched) continue;
      if (parents[k] || pattern.match(relPath)) matched = !pattern.exclusion;
    }
    return matched;
  }

  #lastDir: string | undefined;
  #last: ParentMatches = { candidates: [], parents: [] };

  /**
   * The candidate patterns for `relPath` and, for each, whether it matches one of the parent
   * directories. The same for every entry of a directory, and walks visit a directory's
   * entries together: remembered for the last directory asked about (a 20k-file context walk
   * did three regexp tests per file). A top-level name has no parents.
   */
  #parentMatches(relPath: string): ParentMatches {
    const slash = relPath.lastIndexOf('/');
    if (slash < 0) return { candidates: this.#candidates(relPath), parents: [] };
    const dir = relPath.slice(0, slash);
    if (dir === this.#lastDir) return this.#last;
    const parents = parentDirs(relPath);
    const candidates = this.#candidates(dir); // the same top-level name as relPath
    this.#last = { candidates, parents: candidates.map((i) => parents.some((d) => this.#patterns[i]!.match(d))) };
    this.#lastDir = dir;
    return this.#last;
  }

  /**
   * Whether a walker may skip the directory `relPath` without looking inside: it is excluded
   * and no exception pattern could re-include anything beneath it. (When this is false for an
   * excluded directory, walk it and check each entry with `excluded`.)
   */
  canSkipDir(relPath: string): boolean {
    if (!this.excluded(relPath)) return false;
    if (!this.hasExceptions) return true;
    const selfAndParents = [relPath, ...parentDirs(relPath)];
    for (const pattern of this.#patterns) {
      if (!pattern.exclusion) continue;
      // An exception matching the directory or a parent applies to all of it alike.
      if (selfAndParents.some((d) => pattern.match(d))) continue;
      if (pattern.mayMatchBeneath(relPath)) return false;
    }
    return true;
  }
}

/** How one (already cleaned) pattern compiles: its match kind and, for 'regexp', the Go regexp. For tests. */
export function describeIgnorePattern(pattern: string): { kind: Kind; goRegexp: string } {
  const p = new IgnorePattern(pattern, false);
  return { kind: p.kind, goRegexp: p.goRegexp };
}

/** Candidate pattern indices and, in step with them, whether each matches a parent directory. */
interface ParentMatches {
  readonly candidates: readonly number[];
  readonly parents: readonly boolean[];
}

/** Two ascending index lists as one. */
function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i]! < b[j]!) ? a[i++]! : b[j++]!);
  return out;
}

/** `a/b/c` → [`a`, `a/b`] (filepath.Dir split into its prefixes; none for a top-level name). */
function parentDirs(relPath: string): string[] {
  const slash = relPath.lastIndexOf('/');
  if (slash < 0) return [];
  const dir = goCleanPath(relPath.slice(0, slash + 1));
  if (dir === '.') return [];
  const parts = dir.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) out.push(parts.slice(0, i + 1).join('/'));
  return out;
}
