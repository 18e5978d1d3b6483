// The optional native helper (native/kiln_sys.c, built by scripts/build-native.mjs into
// native/build/kiln_sys.node): mount(2) and umount2(2) as promise-returning calls, a batched
// lstat for tree walks (support/stat.ts), and sync_file_range for the blob store's writeback. Loaded on first use; `undefined` when it was not built
// (no compiler) or KILN_NATIVE=0, and callers then spawn mount(8)/umount(8) and lstat one file
// at a time instead.
import { existsSync, lutimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeSys {
  /** mount(2); `cwd` (a private cwd for the call) resolves relative paths in `data`. Rejects with an Error carrying `errno`. */
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null, cwd: string | null): Promise<void>;
  /** umount2(2). Rejects with an Error carrying `errno`. */
  umount(target: string, flags: number): Promise<void>;
  /** lstat of every name in `dir`, packed (support/stat.ts); null when `dir` cannot be opened. */
  lstatAt(dir: string, names: readonly string[]): BigInt64Array | null;
  /**
   * sync_file_range(SYNC_FILE_RANGE_WRITE) of a range of `fd` on the thread pool: starts its
   * writeback. Works on a duplicate of `fd`, so `fd` may be closed meanwhile. Rejects with an
   * Error carrying `errno`.
   */
  startWriteback(fd: number, offset: number, nbytes: number): Promise<void>;
  /** utimensat(AT_SYMLINK_NOFOLLOW) with exact nanoseconds; 0 or -errno. (Older builds of the addon lack it.) */
  lutimesNs?(path: string, atimeNs: bigint, mtimeNs: bigint): number;
}

/** Linux mount(2) flags and umount2(2) flags kiln uses (uapi/linux/mount.h). */
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;
export const MS_REMOUNT = 32;
export const MS_BIND = 4096;
export const MNT_DETACH = 2;

let loaded: { sys: NativeSys | undefined; error?: string } | undefined;

/** Where the addon is looked for: `native/build/` of the package this module belongs to. */
export function nativeAddonPath(): string | undefined {
  // dist/src/support/native.js (tsc) or dist/kiln.cjs (the bundle): the package root is above
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = join(dir, 'native', 'build', 'kiln_sys.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

/** The addon, or undefined (see the file comment); `nativeLoadError()` says why. */
export function nativeSys(): NativeSys | undefined {
  if (loaded === undefined) {
    if (process.env['KILN_NATIVE'] === '0') {
      loaded = { sys: undefined, error: 'disabled by KILN_NATIVE=0' };
    } else {
      const p = nativeAddonPath();
      if (p === undefined) {
        loaded = { sys: undefined, error: 'native/build/kiln_sys.node is not built (node scripts/build-native.mjs)' };
      } else {
        try {
          loaded = { sys: createRequire(import.meta.url)(p) as NativeSys };
        } catch (e) {
          loaded = { sys: undefined, error: `cannot load ${p}: ${(e as Error).message}` };
        }
      }
    }
  }
  return loaded.sys;
}

export function nativeLoadError(): string | undefined {
  nativeSys();
  return loaded?.error;
}

/**
 * Sets the times of `path` (a symlink itself, not its target) to the nanosecond, as BuildKit's
 * copy does (UtimesNanoAt), through the native helper. Node's lutimes takes float seconds and
 * keeps ~240 ns of today's times: the fallback when the helper is not built, and the one whose
 * error is thrown.
 */
export function lutimesNs(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  if (nativeSys()?.lutimesNs?.(path, atimeNs, mtimeNs) === 0) return;
  lutimesSync(path, Number(atimeNs) / 1e9, Number(mtimeNs) / 1e9);
}
