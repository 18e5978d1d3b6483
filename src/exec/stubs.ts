// Mount stubs: runc creates a missing mount destination (an empty file for /etc/hosts, empty
// dirs for /proc, /dev, ...) in the rootfs. Those are not the RUN step's changes, so they are
// recorded before the run and removed after it, and their parent directory's times restored,
// so the snapshot diff does not see them (BuildKit's MountStubsCleaner does the same, with the
// same rules: see recordMountStubs).
import { lstatSync, lutimesSync, readdirSync, rmdirSync, unlinkSync, type Stats } from 'node:fs';
import { dirname, posix } from 'node:path';
import { runSync } from '../support/index.js';
import { resolveInRoot } from './rootpath.js';

/**
 * Sets a directory's mtime with full nanosecond precision. fs.utimes goes through a double and
 * libuv keeps microseconds, so it is tried first and checked: base images' times are mostly
 * whole seconds (tar), and that saves a touch(1) process per RUN on a base without /etc/hosts.
 */
function restoreMtime(dir: string, mtimeNs: bigint): void {
  const sec = mtimeNs / 1_000_000_000n;
  const ns = mtimeNs % 1_000_000_000n;
  try {
    const now = lstatSync(dir, { bigint: true });
    lutimesSync(dir, Number(now.atimeNs) / 1e9, Number(sec) + Number(ns) / 1e9);
    if (lstatSync(dir, { bigint: true }).mtimeNs === mtimeNs) return;
  } catch {
    /* fall through to touch(1) */
  }
  runSync('touch', ['-m', '-c', '-h', '-d', `@${sec}.${ns.toString().padStart(9, '0')}`, dir]);
}

/** The files BuildKit's stub cleaner always looks at, besides the step's own mount targets. */
const GENERATED_FILES = ['/etc/resolv.conf', '/etc/hosts'];

/**
 * Records the mount stubs a run may leave, as BuildKit's MountStubsCleaner does: for
 * /etc/resolv.conf, /etc/hosts and each of the step's own mount targets (RUN --mount, heredoc
 * files, the --shm-size tmpfs), the path is resolved in the rootfs (symlinks followed, `..`
 * cleaned) and it and every missing parent is a stub. The top-level /dev, /proc and /sys that
 * runc makes for its default mounts are not looked at, so they stay in the layer, as BuildKit's do.
 * Returns a function to call after the container exited: it removes, deepest first, each stub
 * that is an empty directory or an empty file (never what the step put there), and gives the
 * existing directories the stubs were made in their old mtime back.
 */
export function recordMountStubs(rootfs: string, stepMounts: readonly string[] = []): () => void {
  const stubs: string[] = [];
  const anchors = new Map<string, bigint>();
  for (const name of [...GENERATED_FILES, ...stepMounts]) {
    const p = posix.join('/', name);
    if (p === '/') continue;
    let real: string;
    try {
      real = resolveInRoot(rootfs, p);
    } catch {
      continue; // a symlink loop: runc fails the mount, and there is nothing to record
    }
    const before = stubs.length;
    for (;;) {
      try {
        lstatSync(real);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          stubs.push(real);
          const parent = dirname(real);
          if (parent !== real) {
            real = parent;
            continue;
          }
        }
        break;
      }
      // `real` exists: the stub below it (if any) was made in it
      if (stubs.length > before && !anchors.has(real)) {
        try {
          anchors.set(real, lstatSync(real, { bigint: true }).mtimeNs);
        } catch {
          /* best effort */
        }
      }
      break;
    }
  }
  return () => {
    const touched = new Set<string>();
    for (const p of stubs) {
      let st: Stats;
      try {
        st = lstatSync(p);
        if (st.isDirectory() ? readdirSync(p).length !== 0 : st.size !== 0) continue;
        if (st.isDirectory()) rmdirSync(p);
        else unlinkSync(p);
      } catch {
        continue; // gone already (shared by two targets), or not removable: only an empty entry is left
      }
      touched.add(dirname(p));
    }
    for (const [dir, mtimeNs] of [...anchors].sort((a, b) => b[0].length - a[0].length)) {
      if (!touched.has(dir)) continue;
      try {
        restoreMtime(dir, mtimeNs);
      } catch {
        /* best effort: only the directory's mtime differs */
      }
    }
  };
}
