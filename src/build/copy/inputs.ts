// The inputs of one COPY/ADD, in BuildKit's order: every source path (matches walked into
// entries; URLs as they are; Git sources resolved to a commit), then the heredoc files. Shared
// by executeCopy and hashCopyInputs, so the copy checks out the commit the cache key names.
import { KilnError } from '../../errors.js';
import { IgnoreMatcher } from '../../context/index.js';
import { Turns } from '../../support/index.js';
import type { CopyRequest } from './types.js';
import { cleanSourcePath, containsWildcards, joinRel } from './paths.js';
import { isHttpUrl } from './remote.js';
import { gitSourceRef, redactCredentials } from '../../dockerfile/index.js';
import { resolveGit, type PinnedGit } from './git.js';
import { resolveSource, walkMatch, type Entry, type Match, type SourceTree, type WalkFilters } from './select.js';

export type Input =
  | { readonly kind: 'local'; readonly match: Match; readonly entries: readonly Entry[] }
  | { readonly kind: 'url'; readonly url: string }
  /** `source`: as written, credentials masked (it names the input in messages and cache records). */
  | { readonly kind: 'git'; readonly source: string; readonly pin: PinnedGit; readonly exclude?: IgnoreMatcher | undefined }
  | { readonly kind: 'inline'; readonly path: string; readonly data: string };

function patternMatcher(patterns: readonly string[], what: string): IgnoreMatcher {
  try {
    return new IgnoreMatcher(patterns);
  } catch (e) {
    if (e instanceof KilnError) {
      throw new KilnError('PATTERN_INVALID', `invalid ${what} pattern: ${e.message}`, { cause: e, hint: `fix the ${what} value (dockerignore-style patterns)` });
    }
    throw e;
  }
}

/** Checks the sources and flags that need no file system access (URLs, git, --checksum). */
export function checkSources(req: Omit<CopyRequest, 'destRoot'>): void {
  for (const s of req.sources) {
    if (gitSourceRef(s)) {
      if (!req.add) throw new KilnError('INVALID_FLAG', `source can't be a git ref for COPY: ${s}`, { hint: 'use ADD for Git sources' });
      // BuildKit 0.13 ignores a --checksum on an https Git URL; 0.15 refuses it (6b445634e), as kiln does
      if (req.add.checksum !== undefined) throw new KilnError('INVALID_FLAG', "checksum can't be specified for non-HTTP sources", { hint: 'pin the commit in the URL instead: #<40-digit commit id>' });
    }
    if (isHttpUrl(s) && !req.add) {
      throw new KilnError('INVALID_FLAG', `source can't be a URL for COPY: ${s}`, { hint: 'use ADD to download a URL, or RUN curl/wget' });
    }
  }
  if (req.add?.checksum !== undefined) {
    if (req.sources.length !== 1 || req.inline.length > 0) throw new KilnError('INVALID_FLAG', "checksum can't be specified for multiple sources");
    if (!isHttpUrl(req.sources[0]!)) throw new KilnError('INVALID_FLAG', "checksum can't be specified for non-HTTP sources");
  }
}

/** Resolves and walks every input; throws CONTEXT_PATH_NOT_FOUND / CONTEXT_PATH_OUTSIDE before anything is written. */
export async function selectInputs(req: Omit<CopyRequest, 'destRoot'>, signal?: AbortSignal): Promise<Input[]> {
  checkSources(req);
  const tree: SourceTree = {
    root: req.srcRoot.replace(/(.)\/+$/, '$1'),
    kind: req.srcKind,
    ignore: req.srcKind === 'context' ? req.ignore : undefined,
    turns: new Turns(signal),
  };
  const exclude = req.excludes.length > 0 ? patternMatcher(req.excludes, '--exclude') : undefined;
  const out: Input[] = [];
  for (const source of req.sources) {
    signal?.throwIfAborted();
    const git = gitSourceRef(source);
    if (git) {
      out.push({ kind: 'git', source: redactCredentials(source), pin: await resolveGit(git, req.git, signal), exclude });
      continue;
    }
    if (isHttpUrl(source)) {
      out.push({ kind: 'url', url: source });
      continue;
    }
    let base = source;
    let include: WalkFilters['include'];
    if (req.parents) {
      // `a/./b/c` pivots at `a` (kept path `b/c`); without a pivot the whole path is kept
      const cut = source.indexOf('/./');
      const pattern = cleanSourcePath('/' + (cut < 0 ? source : source.slice(cut + 3)));
      base = cut < 0 ? '/' : source.slice(0, cut);
      if (pattern !== '') include = { matcher: patternMatcher([pattern], '--parents'), patterns: [pattern] };
      if (!containsWildcards(base) && !containsWildcards(pattern)) await resolveSource(tree, joinRel(cleanSourcePath(base), pattern)); // required path
    }
    const filters: WalkFilters = { include, exclude };
    for (const match of await resolveSource(tree, base)) {
      out.push({ kind: 'local', match, entries: await walkMatch(tree, match, filters) });
    }
  }
  for (const f of req.inline) out.push({ kind: 'inline', path: f.path, data: f.data });
  return out;
}
