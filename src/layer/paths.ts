// Path safety for applying hostile layers: entry names are cleaned like containerd does (leading
// '/' stripped, '.' dropped, '..' resolved lexically but never above the root), and every parent
// directory is resolved inside the root the way openat2(RESOLVE_IN_ROOT) / securejoin do:
// symlinks are followed, absolute targets restart at the root. A '..' that would climb above the
// root while following a symlink is refused instead of clamped: no real image needs it and it is
// the signature of an escape attempt. (ADD's extraction clamps it, as moby's chroot does.)
import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { KilnError } from '../errors.js';

const MAX_SYMLINKS = 40; // Linux's MAXSYMLINKS
const PATH_MAX = 4096; // Linux's PATH_MAX: no longer name can be created anyway

function unsafe(message: string): never {
  throw new KilnError('LAYER_UNSAFE', message, { hint: 'the layer tries to write outside its root; it is hostile or corrupt and was not applied' });
}

/**
 * The root-relative components of a tar entry name (`''`, '.' or '/' is the root), '..' resolved
 * lexically; undefined when a '..' climbs above the root.
 */
export function entryParts(name: string): string[] | undefined {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    out.push(c);
  }
  return out;
}

/**
 * Cleans a tar entry name into root-relative components. `''` (or '.', '/') means the root.
 * Throws LAYER_UNSAFE when '..' climbs above the root.
 */
export function cleanEntryPath(name: string, what = 'entry'): string[] {
  if (Buffer.byteLength(name) > PATH_MAX) unsafe(`layer ${what} ${JSON.stringify(name.slice(0, 80))}… is longer than ${PATH_MAX} bytes`);
  return entryParts(name) ?? unsafe(`layer ${what} ${JSON.stringify(name)} escapes the root with '..'`);
}

/**
 * Whether a relative symlink target, seen from a directory `depth` levels below the root,
 * climbs above it. An absolute target never does: it is resolved from the root.
 */
export function linkClimbsOut(depth: number, target: string): boolean {
  if (target.startsWith('/')) return false;
  let d = depth;
  for (const c of target.split('/')) {
    if (c === '..') {
      if (--d < 0) return true;
    } else if (c !== '' && c !== '.') d++;
  }
  return false;
}

export interface ResolverOptions {
  /**
   * chroot semantics (ADD's extraction is moby's chrootarchive): a '..' at the root, met while
   * following a symlink, stays at the root instead of being refused.
   */
  readonly clampDotDot?: boolean;
  /** The error for a parent that exists but is not a directory (default: LAYER_INVALID). */
  readonly notDirectory?: (entry: string, path: string) => Error;
}

/**
 * Resolves existing directories inside `root` (an absolute, symlink-free path), creating missing
 * ones. Caches resolved parents; `invalidate()` after anything is removed or replaced.
 */
export class RootResolver {
  private readonly cache = new Map<string, string>();
  /** Directories this resolver created implicitly (absolute paths), to record as added. */
  readonly created: string[] = [];

  constructor(
    readonly root: string,
    private readonly opts: ResolverOptions = {},
  ) {}

  invalidate(): void {
    this.cache.clear();
  }

  /**
   * The real absolute path of directory `parts` (all components followed), creating missing
   * directories (mode 0755) when `create`. Returns undefined when it does not exist and
   * `create` is false. `entry` names the tar entry in errors.
   */
  dir(parts: readonly string[], entry: string, create: boolean): string | undefined {
    if (parts.length === 0) return this.root;
    // start from the longest prefix already resolved, then walk the rest one component at a time
    let i = parts.length;
    let real: string | undefined;
    for (; i > 0; i--) {
      real = this.cache.get(parts.slice(0, i).join('/'));
      if (real !== undefined) break;
    }
    real ??= this.root;
    for (; i < parts.length; i++) {
      real = this.component(real, parts[i]!, entry, create);
      if (real === undefined) return undefined;
      this.cache.set(parts.slice(0, i + 1).join('/'), real);
    }
    return real;
  }

  /** Resolves one more component below the real directory `parentReal`. */
  private component(parentReal: string, name: string, entry: string, create: boolean): string | undefined {
    const resolved: string[] = parentReal === this.root ? [] : parentReal.slice(this.root.length + 1).split('/'); // real components below root
    const todo = [name]; // stack: next component at the end
    let links = 0;
    while (todo.length > 0) {
      const c = todo.pop()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (resolved.length === 0 && this.opts.clampDotDot) continue;
        if (resolved.length === 0) unsafe(`layer entry ${JSON.stringify(entry)} resolves through a symlink that points above the root`);
        resolved.pop();
        continue;
      }
      const abs = `${this.root}/${[...resolved, c].join('/')}`;
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (st === undefined) {
        if (!create) return undefined;
        mkdirSync(abs, 0o755);
        this.created.push(abs);
        resolved.push(c);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) unsafe(`layer entry ${JSON.stringify(entry)}: too many levels of symlinks`);
        const target = readlinkSync(abs);
        if (target.startsWith('/')) resolved.length = 0; // absolute: restart at the root
        const tparts = target.split('/');
        for (let i = tparts.length - 1; i >= 0; i--) todo.push(tparts[i]!);
        continue;
      }
      if (!st.isDirectory()) {
        if (this.opts.notDirectory) throw this.opts.notDirectory(entry, [...resolved, c].join('/'));
        throw new KilnError('LAYER_INVALID', `layer entry ${JSON.stringify(entry)}: ${[...resolved, c].join('/')} is not a directory`, {
          hint: 'the layer writes below a file without replacing it by a directory first',
        });
      }
      resolved.push(c);
    }
    return resolved.length ? `${this.root}/${resolved.join('/')}` : this.root;
  }
}
