// Choosing the snapshot backend: overlayfs when a test overlay mount works in the state dir
// (the upper/work dirs must live on a filesystem overlayfs accepts, e.g. not on overlayfs
// itself), otherwise the copy fallback. A successful probe is remembered in the state dir
// (backend.json, keyed by kernel release), so later commands start without mounting anything:
// the probe is two mount(8) processes, a sizeable part of a cached rebuild's time.
import { mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KilnError } from '../errors.js';
import { pidAlive, replaceFile } from '../support/index.js';
import { CopySnapshotter } from './copy.js';
import { isMounted, mountOverlay, unmount, unmountAllUnder } from './mount.js';
import { OverlaySnapshotter, type OverlaySnapshotterOptions } from './overlay.js';
import type { Snapshotter } from './types.js';

export type SnapshotterKind = 'overlay' | 'copy';

export interface OverlayProbe {
  readonly ok: boolean;
  /** Why overlay is unavailable (for --debug and the hint). */
  readonly reason?: string;
  /** The kernel takes the `volatile` option (Linux 5.10+). */
  readonly volatile?: boolean;
}

const PROBE_FLAGS = 'lowerdir=l1:l2,upperdir=u,workdir=w,index=off,metacopy=off,redirect_dir=off';

/** Tries a real overlay mount (two lowers, upper, work) in a temp dir under `root`. */
export async function probeOverlay(root: string): Promise<OverlayProbe> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, reason: 'not running as root' };
  await cleanupStaleProbes(root);
  const dir = join(resolve(root), `probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  const merged = join(dir, 'm');
  try {
    for (const d of ['l1', 'l2', 'u', 'w', 'm']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'l2', 'f'), 'lower');
    // volatile first; a kernel without it refuses the option (EINVAL)
    let volatile = true;
    try {
      await mountOverlay(merged, `${PROBE_FLAGS},volatile`, dir);
    } catch {
      volatile = false;
      await mountOverlay(merged, PROBE_FLAGS, dir);
    }
    try {
      if (readFileSync(join(merged, 'f'), 'utf8') !== 'lower') return { ok: false, reason: 'overlay mount shows wrong content' };
      writeFileSync(join(merged, 'g'), 'upper');
      rmSync(join(merged, 'f'));
      if (readFileSync(join(dir, 'u', 'g'), 'utf8') !== 'upper') return { ok: false, reason: 'overlay upperdir not written' };
    } finally {
      await unmount(merged);
    }
    return { ok: true, volatile };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  } finally {
    if (!isMounted(merged)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes probe dirs (and their mounts) left by a kiln that was killed while probing. */
export async function cleanupStaleProbes(root: string): Promise<string[]> {
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = /^probe-(\d+)-[0-9a-f]+$/.exec(name);
    if (m === null || pidAlive(Number(m[1]))) continue;
    const dir = join(resolve(root), name);
    await unmountAllUnder(dir);
    if (isMounted(join(dir, 'm'))) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

const BACKEND_FILE = 'backend.json';

/** An earlier successful probe in `root` on this kernel (undefined: probe again). */
function rememberedOverlay(root: string): { volatile: boolean } | undefined {
  try {
    const b = JSON.parse(readFileSync(join(root, BACKEND_FILE), 'utf8')) as { kind?: unknown; kernel?: unknown; volatile?: unknown };
    // files written before the volatile probe existed lack the field: probe again
    return b.kind === 'overlay' && b.kernel === release() && typeof b.volatile === 'boolean' ? { volatile: b.volatile } : undefined;
  } catch {
    return undefined;
  }
}

function rememberOverlay(root: string, volatile: boolean): void {
  try {
    replaceFile(join(root, BACKEND_FILE), JSON.stringify({ kind: 'overlay', kernel: release(), volatile }) + '\n');
  } catch {
    /* probed again next time */
  }
}

export interface CreateSnapshotterOptions extends OverlaySnapshotterOptions {
  /** 'auto' (default): overlay when the probe succeeds, else copy. */
  readonly kind?: SnapshotterKind | 'auto';
}

/** The snapshotter for state dir `root` (created if missing). */
export async function createSnapshotter(root: string, opts: CreateSnapshotterOptions = {}): Promise<Snapshotter> {
  const kind = opts.kind ?? 'auto';
  mkdirSync(root, { recursive: true, mode: 0o700 });
  if (kind === 'copy') return new CopySnapshotter(root);
  const known = rememberedOverlay(root);
  if (known) return new OverlaySnapshotter(root, { volatile: known.volatile, ...opts });
  const probe = await probeOverlay(root);
  if (probe.ok) {
    rememberOverlay(root, probe.volatile === true);
    return new OverlaySnapshotter(root, { volatile: probe.volatile === true, ...opts });
  }
  if (kind === 'overlay') {
    throw new KilnError('SNAPSHOT_UNAVAILABLE', `overlayfs is not usable in ${root}: ${probe.reason ?? 'unknown reason'}`, {
      hint: 'run as root on a filesystem overlayfs supports (ext4, xfs, btrfs, tmpfs), or use the copy snapshotter',
    });
  }
  return new CopySnapshotter(root);
}
