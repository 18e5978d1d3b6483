// Resolving paths in a source tree. A build context is a confined tree: `..` or a symlink that
// would leave it is CONTEXT_PATH_OUTSIDE (BuildKit silently clamps such paths at the context
// root, which copies something the user did not name). A rootfs is resolved like a chroot:
// absolute link targets restart at the root and `..` stops there.
import { readlinkSync } from 'node:fs';
import { KilnError } from '../../errors.js';
import { lstatOrUndefined } from '../../support/index.js';

const MAX_LINKS = 40;

export type SourceKind = 'context' | 'rootfs';

export { lstatOrUndefined };

export function outsideError(source: string, why: string): KilnError {
  return new KilnError('CONTEXT_PATH_OUTSIDE', `${JSON.stringify(source)}: ${why}`, {
    hint: 'COPY and ADD can only read files inside the build context; move the file into the context or pass a different context directory',
  });
}

/**
 * Resolves the slash-separated path `rel` (relative to `root`, no leading '/') to the path of
 * what it names, relative to root, following symlinks in every component — the last one only
 * when `followFinal`. A missing component ends resolution there (the rest is appended as is).
 */
export function resolveRel(root: string, kind: SourceKind, rel: string, followFinal: boolean, source: string): string {
  const done: string[] = [];
  let todo = rel.split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  let missing = false;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '..') {
      if (done.length === 0) {
        if (kind === 'context') throw outsideError(source, 'the path leaves the build context');
        continue;
      }
      done.pop();
      continue;
    }
    if (missing || (todo.length === 0 && !followFinal)) {
      done.push(c);
      continue;
    }
    const host = done.length === 0 ? `${root}/${c}` : `${root}/${done.join('/')}/${c}`;
    const st = lstatOrUndefined(host);
    if (!st) missing = true;
    if (!st?.isSymbolicLink()) {
      done.push(c);
      continue;
    }
    if (++links > MAX_LINKS) {
      throw new KilnError('IO', `${JSON.stringify(source)}: too many levels of symbolic links`);
    }
    const target = readlinkSync(host, 'utf8');
    if (target.startsWith('/')) {
      if (kind === 'context') {
        throw outsideError(source, `symbolic link ${JSON.stringify('/' + [...done, c].join('/'))} points outside the build context (to ${JSON.stringify(target)})`);
      }
      done.length = 0;
    }
    todo = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...todo];
    if (kind === 'context') {
      // `..` in a link target may not climb above the context either
      let depth = done.length;
      for (const x of todo) {
        if (x === '..') depth--;
        else depth++;
        if (depth < 0) throw outsideError(source, `symbolic link ${JSON.stringify('/' + [...done, c].join('/'))} points outside the build context (to ${JSON.stringify(target)})`);
      }
    }
  }
  return done.join('/');
}

/** Go filepath.Clean of a source path, made relative to the root ('' for the root itself). */
export function cleanSourcePath(p: string): string {
  const parts: string[] = [];
  let up = 0;
  for (const el of p.split('/')) {
    if (el === '' || el === '.') continue;
    if (el === '..') {
      if (parts.length > 0) parts.pop();
      else if (!p.startsWith('/')) up++;
      continue;
    }
    parts.push(el);
  }
  return up > 0 ? '../'.repeat(up) + parts.join('/') : parts.join('/');
}

/** BuildKit's containsWildcards: `*`, `?` or `[` not escaped by a backslash. */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/** fsutil's splitWildcards: the literal leading components, and the rest (the pattern). */
export function splitWildcards(rel: string): { literal: string; pattern: string } {
  const parts = rel.split('/').filter((c) => c !== '');
  const i = parts.findIndex((c) => containsWildcards(c));
  if (i < 0) return { literal: parts.join('/'), pattern: '' };
  return { literal: parts.slice(0, i).join('/'), pattern: parts.slice(i).join('/') };
}

export function joinRel(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}/${b}`;
}

export function baseName(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? rel : rel.slice(i + 1);
}
