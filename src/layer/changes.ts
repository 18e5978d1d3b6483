// The contract between a snapshot diff (snapshot/, e.g. an overlayfs upperdir walk) and the layer
// writer. A diff lists every path that differs from the lower layers; the writer turns the list
// into a tar with OCI whiteouts.
import { KilnError } from '../errors.js';

/**
 * One changed path of a snapshot, relative to the snapshot root.
 *
 * - `path`: POSIX, relative, clean: no leading '/', no '.' or '..' components, no trailing '/',
 *   never empty (the root itself is never a change). Example: `usr/bin/tool`.
 * - `kind`:
 *   - `'add'`    the path is new in this snapshot;
 *   - `'modify'` it existed below and now has other content or metadata (a directory whose
 *                children changed counts as modified; list it so its metadata is carried);
 *   - `'delete'` it existed below and is gone: written as the whiteout `DIR/.wh.NAME`.
 * - `opaque` (directories with kind add/modify only): everything the lower layers had under this
 *   directory is hidden (overlayfs `trusted.overlay.opaque=y`): written as the directory entry
 *   followed by `DIR/.wh..wh..opq`. The directory's own new children are still listed as changes.
 *
 * For add/modify the writer reads type, content and metadata from the snapshot's directory.
 * The writer does NOT recurse: every new or changed path must be listed, children of new
 * directories included. A deleted directory needs only its own `delete` (its children go with
 * it). Order does not matter: the writer sorts (see {@link compareLayerPaths}).
 */
export interface Change {
  readonly kind: 'add' | 'modify' | 'delete';
  readonly path: string;
  readonly opaque?: boolean;
}

/**
 * Order of entries in every layer kiln writes: depth-first, children of a directory by the
 * (UTF-16) order of their names, a directory before its contents. ("a" < "a/b" < "a.txt")
 */
export function compareLayerPaths(a: string, b: string): number {
  // component-wise order == plain order once the separator sorts below every other character
  const x = a.replaceAll('/', '\0');
  const y = b.replaceAll('/', '\0');
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Throws KilnError('INTERNAL') for a path that breaks the Change contract. */
export function checkChangePath(path: string): void {
  const bad =
    path === '' || path.startsWith('/') || path.endsWith('/') || path.includes('\0') ||
    path.split('/').some((c) => c === '' || c === '.' || c === '..');
  if (bad) throw new KilnError('INTERNAL', `invalid change path ${JSON.stringify(path)}: must be relative and clean`);
}

/** Validates and sorts a change list; rejects duplicates and `opaque` on deletions. */
export function sortChanges(changes: readonly Change[]): Change[] {
  for (const c of changes) {
    checkChangePath(c.path);
    if (c.opaque && c.kind === 'delete') throw new KilnError('INTERNAL', `change ${c.path}: a deletion cannot be opaque`);
  }
  const sorted = [...changes].sort((x, y) => compareLayerPaths(x.path, y.path));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.path === sorted[i - 1]!.path) throw new KilnError('INTERNAL', `change list names ${sorted[i]!.path} twice`);
  }
  return sorted;
}
