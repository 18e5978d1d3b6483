// mkdir -p for paths a user names (output, cache and file destinations). Node's recursive
// mkdirSync loops forever where mkdir fails with ENOENT below a directory that exists (/proc,
// /sys: `--output type=local,dest=/proc/x` spun at 100 % CPU, deaf to Ctrl-C), so the missing
// directories are made one by one, and the first failure is the answer.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Makes `dir` and its missing parents; throws the first mkdir error (ENOENT, ENOTDIR, EACCES, ...). */
export function makeDirs(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let p = resolve(dir); ; ) {
    try {
      if (statSync(p).isDirectory()) break;
      mkdirSync(p, { mode: mode ?? 0o777 }); // exists but is not a directory: mkdir says so (EEXIST)
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    missing.unshift(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const p of missing) {
    try {
      mkdirSync(p, { mode: mode ?? 0o777 });
    } catch (e: unknown) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(p).isDirectory()) throw e;
    }
  }
}
