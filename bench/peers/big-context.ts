// The "20k-file context" cases (issue #6): node-app and many-layers, rebuilt with 20,000 small
// extra files in a directory that one of the case's COPY steps reads, so that every builder has
// to check them on each rebuild. The variants are generated at run time from the committed
// cases (nothing of the 20k files is committed): the case is copied into the run's scratch dir,
// the files are written (200 dirs × 100 files, ~300 bytes each, distinct contents, the same
// bytes in every run), and, where no COPY of the case reads a whole directory, ONE line is added
// to the Dockerfile (the same Dockerfile for every builder). bench.conf comes with the copy, so
// the one-file-changed rebuild edits the case's own MODIFY_FILE.
// Only the warm (no-op) and incremental (one file changed) rebuilds are the point; one cold build
// fills the caches first (timed and reported, no physical limit, no image sizes).
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BigContextSpec {
  /** The committed case it is made from (bench/cases/<from>). */
  readonly from: string;
  /** Directory (relative to the context) that gets the generated files. */
  readonly dir: string;
  readonly dirs: number;
  readonly filesPerDir: number;
  /** A line inserted into the Dockerfile after the first line matching `after`, if any. */
  readonly addLine?: { readonly after: RegExp; readonly line: string };
  /** Builders that run it (the others are skipped for this case). */
  readonly builders: readonly string[];
  /** Cold builds before the warm/incremental reps (they fill the cache; at least 1). */
  readonly coldReps: number;
}

/** What the report shows about a generated case (stored in the results JSON). */
export interface BigContextInfo {
  readonly from: string;
  readonly files: number;
  readonly dir: string;
  /** The Dockerfile line added for it ("" when the case's Dockerfile already reads `dir`). */
  readonly dockerfileChange: string;
  /** Which COPY step reads the generated files. */
  readonly readBy: string;
}

const TWENTY_K = { dirs: 200, filesPerDir: 100, builders: ['kiln', 'buildkit'], coldReps: 1 } as const;

export const BIG_CONTEXT: Readonly<Record<string, BigContextSpec>> = {
  // `COPY src ./src` already reads src/ (the .txt files are not in tsconfig's src/**/*.ts)
  'node-app-20k': { ...TWENTY_K, from: 'node-app', dir: 'src/assets' },
  // no COPY of many-layers reads a whole directory: one is added right after WORKDIR, so the
  // one-file change (files/f08.txt, half-way down) leaves that step cached and only re-checks it
  'many-layers-20k': { ...TWENTY_K, from: 'many-layers', dir: 'assets', addLine: { after: /^WORKDIR /, line: 'COPY assets/ ./assets/' } },
};

/** Writes the generated case into `dest` (replacing it) and says what was done. */
export function makeBigContext(casesDir: string, spec: BigContextSpec, dest: string): BigContextInfo {
  rmSync(dest, { recursive: true, force: true });
  cpSync(join(casesDir, spec.from), dest, { recursive: true, verbatimSymlinks: true });
  let readBy = '';
  if (spec.addLine !== undefined) {
    const df = join(dest, 'Dockerfile');
    const lines = readFileSync(df, 'utf8').split('\n');
    const at = lines.findIndex((l) => spec.addLine!.after.test(l));
    if (at < 0) throw new Error(`${spec.from}/Dockerfile has no line matching ${String(spec.addLine.after)}`);
    lines.splice(at + 1, 0, spec.addLine.line);
    writeFileSync(df, lines.join('\n'));
    readBy = spec.addLine.line;
  } else {
    // the COPY whose source is the top directory of `dir` (checked, so a case edit can't silently
    // leave the files unread)
    const top = spec.dir.split('/')[0]!;
    const df = readFileSync(join(dest, 'Dockerfile'), 'utf8');
    readBy = df.split('\n').find((l) => new RegExp(`^(COPY|ADD)\\s+(--\\S+\\s+)*(\\./)?${top}/?\\s`, 'i').test(l)) ?? '';
    if (readBy === '') throw new Error(`no COPY in ${spec.from}/Dockerfile reads ${top}/`);
  }
  let n = 0;
  for (let d = 0; d < spec.dirs; d++) {
    const dir = join(dest, spec.dir, `d${String(d).padStart(3, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < spec.filesPerDir; f++, n++) {
      // four distinct 64-hex lines per file (~290 bytes): no two files alike
      let body = `asset ${d}/${f}\n`;
      for (let k = 0; k < 4; k++) body += `${createHash('sha256').update(`${spec.from}:${n}:${k}`).digest('hex')}\n`;
      writeFileSync(join(dir, `f${String(f).padStart(3, '0')}.txt`), body);
    }
  }
  return { from: spec.from, files: n, dir: spec.dir, dockerfileChange: spec.addLine?.line ?? '', readBy };
}
