// Builds and build-cache pruning must not overlap (a prune could remove a snapshot a build has
// just found in the cache). Each announces itself with a marker file `<state>/active/<pid>.<what>`
// BEFORE looking for the other kind: a prune that sees a live build gives up; a build that sees a
// live prune waits for it. Markers of dead processes are ignored and removed.
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import { pidAlive } from '../support/index.js';

type Kind = 'build' | 'prune';

function live(dir: string, kind: Kind): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const m = /^(\d+)\.(build|prune)(?:\.\d+)?$/.exec(n);
    if (!m || m[2] !== kind) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !pidAlive(pid)) {
      try {
        unlinkSync(join(dir, n));
      } catch {
        /* gone */
      }
      continue;
    }
    if (pid !== process.pid) out.push(pid);
  }
  return out;
}

let seq = 0;

function announce(stateDir: string, kind: Kind): { dir: string; release: () => void } {
  const dir = join(stateDir, 'active');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${process.pid}.${kind}.${seq++}`);
  writeFileSync(file, '');
  return {
    dir,
    release: () => {
      try {
        unlinkSync(file);
      } catch {
        /* gone */
      }
    },
  };
}

/** Marks a build as running; waits while a prune of the build cache runs. Returns the release. */
export async function beginBuild(stateDir: string, signal: AbortSignal): Promise<() => void> {
  const a = announce(stateDir, 'build');
  try {
    while (live(a.dir, 'prune').length > 0) {
      signal.throwIfAborted();
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    a.release();
    throw e;
  }
  return a.release;
}

/** Marks a prune as running; refuses while a build runs. Returns the release. */
export function beginPrune(stateDir: string): () => void {
  const a = announce(stateDir, 'prune');
  const builds = live(a.dir, 'build');
  if (builds.length > 0) {
    a.release();
    throw new KilnError('STORE_LOCKED', `a build is running (pid ${builds.join(', ')}): the build cache cannot be pruned now`, {
      hint: 'run the prune again when the build has finished',
    });
  }
  return a.release;
}
