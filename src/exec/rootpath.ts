// Resolving a path inside a rootfs the way the container would see it: symlinks are followed
// relative to the rootfs (an absolute link target restarts at the rootfs, `..` stops at it),
// so a hostile image can never make kiln read or write outside its rootfs.
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../errors.js';

const MAX_LINKS = 40;

/**
 * The host path of container path `p` in `rootfs`, with every symlink resolved inside the rootfs.
 * A missing final (or intermediate) component is fine: the path is returned as it would be created.
 */
export function resolveInRoot(rootfs: string, p: string): string {
  const done: string[] = [];
  let todo = p.split('/').filter((c) => c !== '' && c !== '.');
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '..') {
      done.pop();
      continue;
    }
    const host = join(rootfs, ...done, c);
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch {
      isLink = false;
    }
    if (!isLink) {
      done.push(c);
      continue;
    }
    if (++links > MAX_LINKS) {
      throw new KilnError('IO', `too many levels of symbolic links resolving ${p} in the root filesystem`);
    }
    const target = readlinkSync(host, 'utf8');
    const parts = target.split('/').filter((x) => x !== '' && x !== '.');
    if (target.startsWith('/')) done.length = 0;
    todo = [...parts, ...todo];
  }
  return join(rootfs, ...done);
}
