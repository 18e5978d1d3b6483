// Mount stubs: runc creates a missing mount destination (an empty file for /etc/hosts, empty
// dirs for /proc, /dev, ...) in the rootfs. Those are not the RUN step's changes, so they are
// recorded before the run and removed after it, and their parent directory's times restored,
// so the snapshot diff does not see them (BuildKit's MountStubsCleaner does the same) — except
// the top-level /dev, /proc and /sys directories, which BuildKit's layers keep.
import { lstatSync, lutimesSync, readdirSync, rmSync, type BigIntStats, type Stats } from 'node:fs';
import { join } from 'node:path';
import { runSync } from '../support/index.js';

const KEPT_MOUNT_DIRS = new Set(['dev', 'proc', 'sys']);

interface Stub {
  readonly path: string;
  readonly parent: string;
  readonly parentStat: BigIntStats;
}

/** Only empty regular files and directories holding nothing else count as stubs. */
function isEmptyStubTree(p: string): boolean {
  let st: Stats;
  try {
    st = lstatSync(p);
  } catch {
    return false;
  }
  if (st.isFile()) return st.size === 0;
  if (!st.isDirectory()) return false;
  return readdirSync(p).every((n) => isEmptyStubTree(join(p, n)));
}

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

/**
 * Records, for each container path in `destinations`, the first component missing from `rootfs`.
 * Returns a function that removes those stubs again (call it after the container exited).
 * `stepMounts` are the destinations of the step's own mounts (RUN --mount, the --shm-size tmpfs):
 * BuildKit's stub cleaner sees those, so a top-level /dev, /proc or /sys that one of them needs is
 * a stub too, and goes when it is left empty.
 */
export function recordMountStubs(rootfs: string, destinations: readonly string[], stepMounts: readonly string[] = []): () => void {
  const stubs: Stub[] = [];
  const seen = new Set<string>();
  const own = new Set(stepMounts);
  for (const dest of [...stepMounts, ...destinations.filter((d) => !own.has(d))]) {
    const parts = dest.split('/').filter(Boolean);
    let cur = rootfs;
    for (const part of parts) {
      const next = join(cur, part);
      let st: Stats | undefined;
      try {
        st = lstatSync(next);
      } catch {
        st = undefined;
      }
      if (st === undefined) {
        // BuildKit (Docker 26) keeps the top-level /dev, /proc and /sys that runc creates in the
        // step's layer (test/conformance run-mount-points): only other stubs are cleaned.
        if (cur === rootfs && KEPT_MOUNT_DIRS.has(part) && !own.has(dest)) break;
        if (!seen.has(next)) {
          seen.add(next);
          stubs.push({ path: next, parent: cur, parentStat: lstatSync(cur, { bigint: true }) });
        }
        break;
      }
      if (!st.isDirectory()) break; // a symlink or file: runc resolves it; nothing to record
      cur = next;
    }
  }
  return () => {
    // remove every stub, then restore each parent once (/etc/hosts and /etc/resolv.conf share
    // /etc), deepest first, so a parent's times are restored after its children are gone
    const parents = new Map<string, bigint>();
    for (const s of stubs) {
      if (!isEmptyStubTree(s.path)) continue;
      try {
        rmSync(s.path, { recursive: true, force: true });
        parents.set(s.parent, s.parentStat.mtimeNs);
      } catch {
        /* best effort: a leftover stub only adds an empty entry to the layer */
      }
    }
    for (const [dir, mtimeNs] of [...parents].sort((a, b) => b[0].length - a[0].length)) {
      try {
        restoreMtime(dir, mtimeNs);
      } catch {
        /* best effort, as above */
      }
    }
  };
}
