// When a committed snapshot may be trusted after a machine crash. Committing never waits for the
// disk: overlay upper dirs are mounted `volatile` (the unmount does not sync the whole upper
// filesystem: 0.14 s after a step that wrote 300 MB), and imported layers and copies are not
// fsynced. Instead every commit is stamped with the boot it happened in and a CLOCK_MONOTONIC
// time. A stamped snapshot counts
//   - in the boot that made it (the page cache holds whatever the disk does not yet), and
//   - after a reboot only when a sync that started after its commit finished: when a process
//     that committed snapshots exits, a detached `sync -f` runs and then records its start time
//     in `durable-<boot>`. That file is made by the committing process itself; the syncer only
//     overwrites its fixed-width content in place (dd nocreat, then fsync), so nothing appears
//     in the state dir after kiln has exited (an `rm -rf` of the state dir right after a build
//     would otherwise race with it).
// Anything else made before a reboot (a crash before that sync ended) is treated as absent: its
// cache records miss and the stale-state cleanup deletes it, so a crash can cost cache entries
// but never leave a snapshot with unwritten files behind a cache hit.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return ''; // no boot id (not Linux): stamps always count, as before stamping existed
  }
}

export const BOOT_ID = readBootId();

/** What a commit records. */
export interface Stamp {
  readonly boot: string;
  /** process.hrtime.bigint() (CLOCK_MONOTONIC: system-wide, since boot) as a decimal string. */
  readonly t: string;
}

export function stamp(): Stamp {
  return { boot: BOOT_ID, t: process.hrtime.bigint().toString() };
}

/** A per-boot file `<kind>-<boot>` in state dir `root` (the boot id is a UUID). */
export function bootFile(root: string, kind: string, boot: string = BOOT_ID): string {
  return join(root, `${kind}-${boot.replace(/[^0-9a-f-]/gi, '')}`);
}

/** The durable-marker of `boot` in state dir `root`: everything stamped up to this time is on disk. */
export function markerPath(root: string, boot: string): string {
  return bootFile(root, 'durable', boot);
}

/** State dirs this process committed to, and whether their exit hook is installed. */
const toSync = new Map<string, Durability>();
let exitHook = false;

/** Digits of the marker's value (a 64-bit nanosecond count has at most 20). */
const WIDTH = 20;

export class Durability {
  private readonly upTo = new Map<string, bigint | null>();
  private scheduled = false;

  constructor(private readonly root: string) {}

  /** Whether a snapshot with this stamp (or none: made before stamping existed) can be trusted. */
  counts(s: { boot?: string | undefined; t?: string | undefined }): boolean {
    if (s.boot === undefined || s.boot === BOOT_ID) return true;
    let up = this.upTo.get(s.boot);
    if (up === undefined) {
      try {
        up = BigInt(readFileSync(markerPath(this.root, s.boot), 'utf8').trim());
      } catch {
        up = null;
      }
      this.upTo.set(s.boot, up);
    }
    try {
      return up !== null && s.t !== undefined && BigInt(s.t) <= up;
    } catch {
      return false;
    }
  }

  /** After a commit: have the data synced in the background when this process exits. */
  committed(): void {
    if (this.scheduled || BOOT_ID === '') return;
    this.scheduled = true;
    try {
      const fd = openSync(markerPath(this.root, BOOT_ID), 'wx');
      writeSync(fd, `${'0'.repeat(WIDTH)}\n`);
      closeSync(fd);
    } catch {
      /* there already (another process of this boot made it), or not writable: no syncer */
    }
    toSync.set(this.root, this);
    if (!exitHook) {
      // one hook for every state dir of this process (tests open dozens)
      exitHook = true;
      process.on('exit', () => {
        for (const d of toSync.values()) d.syncInBackground();
      });
    }
  }

  /**
   * Starts the detached syncer: `sync -f` of the state dir's filesystem, then the marker,
   * overwritten in place and fsynced. A later syncer may finish first and be overwritten by an
   * earlier one: that only marks less as durable.
   */
  syncInBackground(): void {
    const t = process.hrtime.bigint().toString().padStart(WIDTH, '0');
    const script = 'sync -f "$1" && printf "%s\\n" "$2" | dd of="$3" conv=nocreat,notrunc status=none && sync "$3"';
    try {
      const child = spawn('/bin/sh', ['-c', script, 'kiln-sync', this.root, t, markerPath(this.root, BOOT_ID)], {
        detached: true,
        stdio: 'ignore',
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      child.on('error', () => undefined);
      child.unref();
    } catch {
      /* no syncer: this boot's snapshots simply will not survive a reboot */
    }
  }
}
