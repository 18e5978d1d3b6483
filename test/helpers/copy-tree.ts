// Helpers for COPY/ADD tests: build a fixture tree from a compact spec and describe a resulting
// tree exactly (type, mode, owner, content or link target) for deep-equal assertions.
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** `path: content` for files, `path/` for dirs, `path -> target` for symlinks; optional mode. */
export type TreeSpec = Record<string, string | { content?: string; mode?: number; link?: string; dir?: boolean; mtime?: number }>;

/** Creates the spec under root (parents 0755). Keys ending in '/' are directories. */
export function makeTree(root: string, spec: TreeSpec): void {
  mkdirSync(root, { recursive: true });
  const dirs: [string, number | undefined, number | undefined][] = [];
  for (const [key, v] of Object.entries(spec)) {
    const isDir = key.endsWith('/') || (typeof v === 'object' && v.dir === true);
    const p = `${root}/${key.replace(/\/$/, '')}`;
    mkdirSync(dirname(p), { recursive: true });
    const o = typeof v === 'string' ? { content: v } : v;
    if (isDir) {
      mkdirSync(p, { recursive: true });
      dirs.push([p, o.mode, o.mtime]);
    } else if (o.link !== undefined) {
      symlinkSync(o.link, p);
    } else {
      writeFileSync(p, o.content ?? '');
      chmodSync(p, o.mode ?? 0o644);
      if (o.mtime !== undefined) utimesSync(p, o.mtime, o.mtime);
    }
  }
  for (const [p, mode, mtime] of dirs.reverse()) {
    chmodSync(p, mode ?? 0o755);
    if (mtime !== undefined) utimesSync(p, mtime, mtime);
  }
}

/**
 * One line per path below root (root itself excluded): `path type mode uid:gid [content|-> target]`.
 * File contents longer than 40 bytes are shown as their length.
 */
export function describe(root: string, opts: { owner?: boolean } = {}): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const p = `${abs}/${name}`;
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      const kind = st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFIFO() ? 'p' : st.isCharacterDevice() ? 'c' : '?';
      const parts = [r, kind];
      if (kind !== 'l') parts.push((st.mode & 0o7777).toString(8));
      if (opts.owner !== false) parts.push(`${st.uid}:${st.gid}`);
      if (kind === 'f') {
        const data = readFileSync(p);
        parts.push(data.length > 40 ? `<${data.length} bytes>` : JSON.stringify(data.toString()));
      }
      if (kind === 'l') parts.push(`-> ${readlinkSync(p)}`);
      out.push(parts.join(' '));
      if (kind === 'd') walk(p, r);
    }
  };
  walk(root, '');
  return out;
}
