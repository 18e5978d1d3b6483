// Walks a root filesystem into a comparable description (type, mode incl. setuid/setgid/sticky,
// uid/gid, symlink target, content hash, hardlink groups, xattrs; never mtimes) and diffs two
// such descriptions into readable lines. Used by the BuildKit differential tests
// (test/conformance/) and by kiln-only golden trees (JSON files in the case dirs).
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import * as xattr from 'fs-xattr';

export interface TreeEntry {
  /** file | dir | symlink | char | block | fifo | socket */
  type: string;
  /** Permission bits incl. setuid/setgid/sticky, as 4 octal digits ("4755"). */
  mode: string;
  /** "uid:gid" */
  owner: string;
  /** Files: the content when it is short printable text, else undefined (see sha256). */
  content?: string;
  /** Files: sha256 hex of the content when `content` is not given. */
  sha256?: string;
  size?: number;
  /** Symlinks: the target. */
  target?: string;
  /** Devices: st_rdev. */
  rdev?: string;
  /** Files with other names for the same inode in this tree: all of those names, sorted. */
  hardlinks?: string[];
  /** Extended attributes, name → hex value (trusted.overlay.* never). */
  xattrs?: Record<string, string>;
}

/** Path ("/" for the root, "/etc/passwd", ...) → entry, sorted by path. */
export type Tree = Record<string, TreeEntry>;

export interface WalkOptions {
  /** Describe only this absolute path inside the root (and below); default "/". */
  readonly under?: string;
  /** Paths (absolute inside the root) left out, with everything below them. */
  readonly ignore?: readonly string[];
}

const PRINTABLE = /^[\x20-\x7e\n\t]*$/;

function kindOf(st: Stats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/** Describes the tree at `root` (a flattened rootfs). Paths are absolute inside it. */
export function walkTree(root: string, opts: WalkOptions = {}): Tree {
  const out: Tree = {};
  const inodes = new Map<string, string[]>();
  const ignore = new Set(opts.ignore ?? []);
  const under = (opts.under ?? '/').replace(/\/+$/, '') || '/';
  const walk = (abs: string, path: string): void => {
    if (ignore.has(path)) return;
    const st = lstatSync(abs);
    const type = kindOf(st);
    const e: TreeEntry = { type, mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), owner: `${st.uid}:${st.gid}` };
    if (type === 'file') {
      const data = readFileSync(abs);
      e.size = data.length;
      const text = data.toString('latin1');
      if (data.length <= 256 && PRINTABLE.test(text)) e.content = text;
      else e.sha256 = createHash('sha256').update(data).digest('hex');
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        const group = inodes.get(key) ?? [];
        group.push(path);
        inodes.set(key, group);
      }
    } else if (type === 'symlink') {
      e.target = readlinkSync(abs);
    } else if (type === 'char' || type === 'block') {
      e.rdev = String(st.rdev);
    }
    if (type !== 'symlink') {
      let names: string[] = [];
      try {
        names = xattr.listAttributesSync(abs).filter((n) => !n.startsWith('trusted.overlay.')).sort();
      } catch {
        /* no xattr support: none */
      }
      if (names.length) {
        e.xattrs = {};
        for (const n of names) e.xattrs[n] = xattr.getAttributeSync(abs, n).toString('hex');
      }
    }
    out[path] = e;
    if (type === 'dir') {
      for (const name of readdirSync(abs).sort()) walk(`${abs}/${name}`, path === '/' ? `/${name}` : `${path}/${name}`);
    }
  };
  walk(under === '/' ? root : `${root}${under}`, under);
  for (const group of inodes.values()) {
    if (group.length < 2) continue;
    const sorted = [...group].sort();
    for (const p of sorted) out[p]!.hardlinks = sorted;
  }
  return out;
}

/** One short line for an entry: "file 0644 0:0 'hi\n' links=[/a,/b]". */
export function describeEntry(e: TreeEntry): string {
  const parts = [e.type, e.mode, e.owner];
  if (e.content !== undefined) parts.push(JSON.stringify(e.content));
  if (e.sha256 !== undefined) parts.push(`sha256:${e.sha256.slice(0, 16)}… (${e.size} bytes)`);
  if (e.target !== undefined) parts.push(`-> ${e.target}`);
  if (e.rdev !== undefined) parts.push(`rdev=${e.rdev}`);
  if (e.hardlinks) parts.push(`hardlinks=[${e.hardlinks.join(',')}]`);
  if (e.xattrs) parts.push(`xattrs=${JSON.stringify(e.xattrs)}`);
  return parts.join(' ');
}

/**
 * The differences between two trees, one line each, e.g.
 *   "/x: only in docker (file 0644 0:0 \"a\")", "/y: mode docker 4755, kiln 0755".
 * Empty when they are the same.
 */
export function diffTrees(a: Tree, b: Tree, labels: readonly [string, string] = ['expected', 'actual']): string[] {
  const [la, lb] = labels;
  const out: string[] = [];
  const paths = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const p of paths) {
    const x = a[p];
    const y = b[p];
    if (!y) {
      out.push(`${p}: only in ${la} (${describeEntry(x!)})`);
      continue;
    }
    if (!x) {
      out.push(`${p}: only in ${lb} (${describeEntry(y)})`);
      continue;
    }
    if (x.type !== y.type) {
      out.push(`${p}: type ${la} ${describeEntry(x)}; ${lb} ${describeEntry(y)}`);
      continue;
    }
    const fields: (keyof TreeEntry)[] = ['mode', 'owner', 'content', 'sha256', 'size', 'target', 'rdev', 'hardlinks', 'xattrs'];
    for (const f of fields) {
      const vx = JSON.stringify(x[f]);
      const vy = JSON.stringify(y[f]);
      if (vx === vy) continue;
      if (f === 'size' && (x.content !== undefined || y.content !== undefined)) continue; // shown by content
      out.push(`${p}: ${f} ${la} ${vx ?? '(none)'}, ${lb} ${vy ?? '(none)'}`);
    }
  }
  return out;
}

/** Limits a list of diff lines for a failure message. */
export function summarise(lines: readonly string[], max = 40): string {
  if (lines.length <= max) return lines.join('\n');
  return [...lines.slice(0, max), `… and ${lines.length - max} more`].join('\n');
}
