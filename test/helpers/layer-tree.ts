// Helpers for layer tests: a full description of a tree (lstat, readlink, content hash, xattrs)
// for exact comparisons, and builders for fixture trees with every file type.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readFileSync, readdirSync, readlinkSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import * as xattr from 'fs-xattr';

/** One line per path: type, mode, uid, gid, size, mtime, rdev, link target, content hash, xattrs. */
export function describeTree(root: string, opts: { mtimes?: boolean; rootMeta?: boolean } = {}): string[] {
  const out: string[] = [];
  const inodes = new Map<string, string>();
  const walk = (abs: string, rel: string): void => {
    const st = lstatSync(abs, { bigint: true });
    const kind = st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : '?';
    const parts = [rel || '.', kind, (Number(st.mode) & 0o7777).toString(8), `${st.uid}:${st.gid}`];
    if (opts.mtimes !== false && (rel !== '' || opts.rootMeta) && kind !== 'd') parts.push(`m=${st.mtimeNs / 1_000_000_000n}`);
    if (opts.mtimes !== false && kind === 'd' && rel !== '') parts.push(`m=${st.mtimeNs / 1_000_000_000n}`);
    if (kind === 'f') {
      parts.push(`s=${st.size}`, createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 16));
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = inodes.get(key);
        if (first) parts.push(`hardlink=${first}`);
        else inodes.set(key, rel);
      }
    }
    if (kind === 'c' || kind === 'b') parts.push(`rdev=${st.rdev}`);
    if (kind === 'l') parts.push(`-> ${readlinkSync(abs)}`);
    if (kind !== 'l') {
      let names: string[] = [];
      try {
        names = xattr.listAttributesSync(abs).sort();
      } catch {
        /* none */
      }
      for (const n of names) parts.push(`x:${n}=${xattr.getAttributeSync(abs, n).toString('hex')}`);
    }
    out.push(parts.join(' '));
    if (kind === 'd') for (const name of readdirSync(abs).sort()) walk(`${abs}/${name}`, rel ? `${rel}/${name}` : name);
  };
  walk(root, '');
  return out;
}

/** A binary security.capability value (v2, cap_net_bind_service) with non-UTF-8 bytes. */
export const CAP_VALUE = Buffer.from('0100000200040000000000000000000000000000', 'hex');
export const MTIME_2100 = 4102444800;
export const LONG_DIR = `${'d'.repeat(120)}/${'e'.repeat(90)}`;

/**
 * A tree with every file type (needs root for devices and chown): regular files (setuid,
 * sticky dir, binary xattrs, uid 3000000, mtime 2100, sub-second mtime), hardlinks, symlinks
 * (relative and absolute), char/block devices, a fifo, an empty file, long and UTF-8 names.
 */
export function makeFixtureTree(root: string): void {
  mkdirSync(`${root}/bin`, { recursive: true });
  mkdirSync(`${root}/tmp`, { recursive: true });
  mkdirSync(`${root}/dev`, { recursive: true });
  mkdirSync(`${root}/${LONG_DIR}`, { recursive: true });
  mkdirSync(`${root}/empty-dir`, { recursive: true });
  writeFileSync(`${root}/bin/tool`, Buffer.alloc(70_000, 7));
  lchownSync(`${root}/bin/tool`, 3000000, 3000001);
  chmodSync(`${root}/bin/tool`, 0o4755);
  xattr.setAttributeSync(`${root}/bin/tool`, 'security.capability', CAP_VALUE); // after chown (chown clears it)
  xattr.setAttributeSync(`${root}/bin/tool`, 'user.comment', Buffer.from([0xff, 0x00, 0x80, 0x0a, 0x3d]));
  lutimesSync(`${root}/bin/tool`, MTIME_2100, MTIME_2100);
  linkSync(`${root}/bin/tool`, `${root}/bin/tool-hardlink`);
  writeFileSync(`${root}/bin/empty`, '');
  symlinkSync('tool', `${root}/bin/rel-link`);
  symlinkSync('/etc/passwd', `${root}/bin/abs-link`);
  symlinkSync(`../${'t'.repeat(150)}`, `${root}/bin/long-link`);
  chmodSync(`${root}/tmp`, 0o1777);
  execFileSync('mknod', [`${root}/dev/null`, 'c', '1', '3']);
  execFileSync('mknod', [`${root}/dev/sda1`, 'b', '8', '1']);
  execFileSync('mknod', [`${root}/dev/big`, 'c', '300', '70000']); // needs the long dev_t encoding
  execFileSync('mknod', [`${root}/dev/fifo`, 'p']);
  writeFileSync(`${root}/${LONG_DIR}/file-with-a-long-path.txt`, 'long\n');
  writeFileSync(`${root}/tmp/ünïcödé 名前.txt`, 'utf8\n');
  writeFileSync(`${root}/tmp/subsec`, 'x');
  lutimesSync(`${root}/tmp/subsec`, 1700000000.5, 1700000000.5);
  lutimesSync(`${root}/bin`, 1600000000, 1600000000);
}
