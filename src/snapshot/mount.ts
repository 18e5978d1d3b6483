// Mounting and unmounting, with every mount kiln makes tracked so that errors, aborts and process
// exit unmount them, and /proc/self/mountinfo parsing to find (and clean) mounts a crashed run
// left under a directory. The calls go straight to mount(2)/umount2(2) through the native helper
// (support/native.ts) when it is built, else through mount(8)/umount(8): two ~3 ms processes per
// step that the helper saves.
import { readFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { KilnError } from '../errors.js';
import {
  MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT, nativeSys, output, runSync,
} from '../support/index.js';

const tracked = new Set<string>();
let exitHook = false;

/** Mount points made by this process and not unmounted yet. */
export function trackedMounts(): string[] {
  return [...tracked];
}

/** Lazily detaches every tracked mount, synchronously (used by the process 'exit' hook). */
export function unmountTrackedSync(): void {
  for (const target of [...tracked].sort((a, b) => b.length - a.length)) {
    runSync('umount', ['-l', target]);
    tracked.delete(target);
  }
}

function track(target: string): void {
  tracked.add(target);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', unmountTrackedSync);
  }
}

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };

const VFS_FLAGS: Readonly<Record<string, number>> = { ro: MS_RDONLY, rw: 0, nosuid: MS_NOSUID, nodev: MS_NODEV, noexec: MS_NOEXEC };

/**
 * mount(8)'s split of an option string: the generic options it knows become mount(2) flags, the
 * rest is the filesystem's data. (kiln's own option strings: no commas inside values.)
 */
export function splitMountOptions(options: string): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options.split(',')) {
    const f = VFS_FLAGS[o];
    if (f === undefined) data.push(o);
    else flags |= f;
  }
  return { flags, data: data.join(',') };
}

/**
 * Mounts an overlay at `target`. `options` may use paths relative to `cwd` (that is how a long
 * lowerdir chain stays under the kernel's one-page limit for mount options).
 */
export async function mountOverlay(target: string, options: string, cwd: string): Promise<void> {
  const abs = resolve(target);
  try {
    const sys = nativeSys();
    if (sys) {
      const { flags, data } = splitMountOptions(options);
      await sys.mount('overlay', abs, 'overlay', flags, data, resolve(cwd));
    } else {
      await output('mount', ['-t', 'overlay', 'overlay', '-o', options, abs], { cwd, env: ENV });
    }
  } catch (e) {
    throw new KilnError('SNAPSHOT_UNAVAILABLE', `cannot mount overlay at ${abs}: ${(e as Error).message}`, {
      cause: e,
      hint: (e as NodeJS.ErrnoException).code === 'ENOENT' || /No such file/i.test((e as Error).message)
        ? "a snapshot's files are missing (a damaged store): `kiln prune -a` removes the build cache and its snapshots, and the next build makes them again"
        : 'kiln needs root and overlayfs for its snapshots (where overlayfs is missing when the store is first used, it copies instead)',
    });
  }
  track(abs);
}

/** Read-only bind mount of `source` at `target`. */
export async function mountBindReadOnly(source: string, target: string): Promise<void> {
  const abs = resolve(target);
  try {
    const sys = nativeSys();
    if (sys) {
      // what mount(8) does for --bind -o ro: a bind mount, then a read-only remount of it
      await sys.mount(resolve(source), abs, null, MS_BIND, null, null);
      try {
        await sys.mount(null, abs, null, MS_REMOUNT | MS_BIND | MS_RDONLY, null, null);
      } catch (e) {
        await sys.umount(abs, MNT_DETACH).catch(() => undefined);
        throw e;
      }
    } else {
      await output('mount', ['--bind', '-o', 'ro', resolve(source), abs], { env: ENV });
    }
  } catch (e) {
    throw new KilnError('SNAPSHOT_UNAVAILABLE', `cannot bind-mount ${source} at ${abs}: ${(e as Error).message}`, { cause: e });
  }
  track(abs);
}

/** Unmounts `target` (falls back to a lazy detach when it is busy). */
export async function unmount(target: string): Promise<void> {
  const abs = resolve(target);
  const sys = nativeSys();
  try {
    if (sys) await sys.umount(abs, 0);
    else await output('umount', [abs], { env: ENV });
  } catch (e) {
    try {
      if (sys) await sys.umount(abs, MNT_DETACH);
      else await output('umount', ['-l', abs], { env: ENV });
    } catch {
      if (isMounted(abs)) {
        throw new KilnError('IO', `cannot unmount ${abs}: ${(e as Error).message}`, { cause: e });
      }
    }
  }
  tracked.delete(abs);
}

/** Decodes the octal escapes (\040 etc.) mountinfo uses in paths. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points of this process's mount namespace (from /proc/self/mountinfo), in mount order. */
export function mountPoints(): string[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) out.push(unescapeMountPath(f[4]!));
  }
  return out;
}

/** Mount points at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  const root = resolve(dir);
  return mountPoints().filter((m) => m === root || m.startsWith(root + sep));
}

export function isMounted(target: string): boolean {
  const abs = resolve(target);
  return mountPoints().includes(abs);
}

/** Unmounts everything mounted at or below `dir`, deepest first. Returns what was unmounted. */
export async function unmountAllUnder(dir: string, keep: (mountPoint: string) => boolean = () => false): Promise<string[]> {
  const done: string[] = [];
  for (let round = 0; round < 8; round++) {
    const ms = mountsUnder(dir).filter((m) => !keep(m));
    if (ms.length === 0) break;
    for (const m of [...new Set(ms)].sort((a, b) => b.length - a.length)) {
      await unmount(m).catch(() => undefined);
      done.push(m);
    }
  }
  const left = mountsUnder(dir).filter((m) => !keep(m));
  if (left.length > 0) throw new KilnError('IO', `cannot unmount ${left.join(', ')}`, { hint: 'unmount them by hand (umount -l PATH)' });
  return [...new Set(done)];
}
