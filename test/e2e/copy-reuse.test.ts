// A COPY from the context that misses the cache links its unchanged files from its previous
// result (src/build/copy/reuse.ts). End to end with the real CLI, overlayfs and runc: after a mix
// of edits, the reusing build's files equal those of a --no-cache build; the previous result is
// untouched (a RUN appending to a linked file, a chmod, a touch go to their own layers); and
// --explain counts the linked files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { BusyboxSuite } from '../helpers/busybox-suite.js';

const suite = new BusyboxSuite('kiln-e2e-reuse-');
const kiln = (args: string[]) => suite.kiln(args);

// Each COPY sits on an unchanged parent (a result is only reused on the same parent snapshot);
// `all` gathers their results (COPY --from keeps owners, modes and file mtimes below the
// directory it names).
const DOCKERFILE = [
  'FROM busybox AS base',
  'RUN mkdir -p /srv/data && echo lower > /srv/data/keep && echo lower > /srv/data/replace',
  'WORKDIR /app',
  'FROM base AS s1',
  'COPY src ./src',
  'FROM base AS s2',
  'COPY data/ /srv/data/',
  'FROM base AS s3',
  'COPY --chown=7:8 --chmod=640 src/a /opt/a',
  'FROM base AS s4',
  'COPY src/a/f1.txt src/c/x /files/',
  'FROM s1 AS edited',
  'RUN echo appended >> /app/src/a/f2.txt && chmod 700 /app/src/a/f4.txt && touch -d @0 /app/src/a/f5.txt',
  'FROM busybox AS all',
  'COPY --from=s1 /app /s1',
  'COPY --from=s2 /srv /s2',
  'COPY --from=s3 /opt /s3',
  'COPY --from=s4 /files /s4',
  'COPY --from=edited /app/src/a /edited',
  '',
].join('\n');

function makeContext(dir: string): void {
  mkdirSync(join(dir, 'src/a/deep/er'), { recursive: true });
  mkdirSync(join(dir, 'src/c'), { recursive: true });
  mkdirSync(join(dir, 'src/empty'), { recursive: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  for (let i = 1; i <= 40; i++) writeFileSync(join(dir, `src/a/f${i}.txt`), `file ${i}\n`);
  for (let i = 1; i <= 10; i++) writeFileSync(join(dir, `src/a/deep/er/g${i}`), `deep ${i}\n`.repeat(i * 100));
  writeFileSync(join(dir, 'src/c/x'), 'x\n');
  writeFileSync(join(dir, 'src/c/tool.sh'), '#!/bin/sh\n');
  chmodSync(join(dir, 'src/c/tool.sh'), 0o755);
  writeFileSync(join(dir, 'src/c/h1'), 'hardlinked\n');
  linkSync(join(dir, 'src/c/h1'), join(dir, 'src/c/h2'));
  symlinkSync('a/f1.txt', join(dir, 'src/link'));
  writeFileSync(join(dir, 'src/becomes-dir'), 'a file for now\n');
  writeFileSync(join(dir, 'data/replace'), 'from the context\n');
  writeFileSync(join(dir, 'data/new'), 'new\n');
  chmodSync(join(dir, 'data'), 0o750); // not given to /srv/data, which existed before the COPY
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
}

/** Every edit the copy must get right when it reuses the rest. */
function edit(dir: string): void {
  writeFileSync(join(dir, 'src/a/f3.txt'), 'changed content\n');
  chmodSync(join(dir, 'src/a/f9.txt'), 0o600);
  rmSync(join(dir, 'src/a/f10.txt'));
  writeFileSync(join(dir, 'src/a/added.txt'), 'added\n');
  mkdirSync(join(dir, 'src/added-dir/sub'), { recursive: true });
  writeFileSync(join(dir, 'src/added-dir/sub/y'), 'y\n');
  rmSync(join(dir, 'src/becomes-dir'));
  mkdirSync(join(dir, 'src/becomes-dir'));
  writeFileSync(join(dir, 'src/becomes-dir/inside'), 'inside\n');
  chmodSync(join(dir, 'src/c'), 0o700);
  chmodSync(join(dir, 'src'), 0o750); // not given to the directory the COPY makes for the match
  writeFileSync(join(dir, 'src/c/x'), 'x changed\n');
  utimesSync(join(dir, 'src/a/f11.txt'), 1_000_000, 1_000_000); // mtime only: keeps the old file
  rmSync(join(dir, 'data/replace')); // the lower layer's /srv/data/replace shows again
  rmSync(join(dir, 'src/a/deep/er/g10'));
}

interface Node {
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly content: string;
  readonly mtime: number;
}

/** The tree a build exported as `<rootDir>.tar` (a tar keeps owners; a local export gives every file to the user who builds). */
function tree(rootDir: string): Map<string, Node> {
  if (!existsSync(rootDir)) {
    mkdirSync(rootDir);
    execFileSync('tar', ['-xpf', `${rootDir}.tar`, '--numeric-owner', '-C', rootDir]);
  }
  const out = new Map<string, Node>();
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(p);
      const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
      const content = type === 'f' ? createHash('sha256').update(readFileSync(p)).digest('hex') : type === 'l' ? readlinkSync(p) : '';
      out.set(r, { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, content, mtime: Math.floor(st.mtimeMs) });
      if (type === 'd') walk(p, r);
    }
  };
  walk(rootDir, '');
  return out;
}

/** Differences between two trees; mtimes only for the paths `withTimes` accepts. */
function differences(a: Map<string, Node>, b: Map<string, Node>, withTimes: (p: string) => boolean): string[] {
  const out: string[] = [];
  for (const p of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(p);
    const y = b.get(p);
    if (!x || !y) {
      out.push(`${p}: ${x ? 'only in the first' : 'only in the second'}`);
      continue;
    }
    const keys: (keyof Node)[] = ['type', 'mode', 'uid', 'gid', 'content', ...(withTimes(p) ? (['mtime'] as const) : [])];
    for (const k of keys) if (x[k] !== y[k]) out.push(`${p}: ${k} ${String(x[k])} vs ${String(y[k])}`);
  }
  return out;
}

const OURS = (p: string) => /^(s[1-4]|edited)(\/|$)/.test(p);

test('a COPY that misses reuses its unchanged files and copies exactly what a fresh build copies', async (t) => {
  if (!suite.check(t)) return;
  const ctx = join(suite.work, 'ctx');
  makeContext(ctx);
  const out = (name: string) => join(suite.work, name);
  let r = await kiln(['build', '-q', '-o', `type=tar,dest=${out('before')}.tar`, ctx]);
  assert.equal(r.code, 0, r.stderr);
  r = await kiln(['build', '-q', '--target', 's1', '-o', `type=tar,dest=${out('before-s1')}.tar`, ctx]);
  assert.equal(r.code, 0, r.stderr);

  edit(ctx);
  r = await kiln(['build', '--progress', 'plain', '--explain', '-o', `type=tar,dest=${out('reused')}.tar`, ctx]);
  assert.equal(r.code, 0, r.stderr);
  // s1: a/ keeps 37 of its files (f3 and f9 changed, f10 gone, f11 only touched), deep/ 9, c/
  // tool.sh (x changed; h1/h2 are one inode: the copier links those itself). s2: new.
  // s3 (--chown/--chmod): 37 + 9. s4: f1.
  const counts = [...r.stderr.matchAll(/(\d+) unchanged files? linked from the previous result/g)].map((m) => Number(m[1]));
  assert.deepEqual(counts, [37 + 9 + 1, 1, 37 + 9, 1], r.stderr);

  // the first build's results are untouched: back to the old context, cache hits give the same
  // files, mtimes included
  execFileSync('cp', ['-a', ctx, `${ctx}-edited`]);
  rmSync(ctx, { recursive: true, force: true });
  makeContext(ctx);
  r = await kiln(['build', '--progress', 'plain', '-o', `type=tar,dest=${out('again')}.tar`, ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /cache miss/, 'the old context hits the first build\'s records');
  assert.deepEqual(differences(tree(out('again')), tree(out('before')), OURS), []);
  r = await kiln(['build', '-q', '--target', 's1', '-o', `type=tar,dest=${out('again-s1')}.tar`, ctx]);
  assert.equal(r.code, 0, r.stderr);
  const s1 = tree(out('again-s1'));
  assert.deepEqual(differences(s1, tree(out('before-s1')), (p) => p.startsWith('app/src')), []);
  assert.equal(readFileSync(join(out('again-s1'), 'app/src/a/f2.txt'), 'utf8'), 'file 2\n');
  assert.equal(s1.get('app/src/a/f4.txt')?.mode, 0o644);
  assert.equal(readFileSync(join(out('again-s1'), 'app/src/a/f3.txt'), 'utf8'), 'file 3\n');

  // (a --no-cache build replaces the records of every step it runs, the old ones included: so
  // this comes last) the edited context again, every file as it was, built from scratch
  rmSync(ctx, { recursive: true, force: true });
  execFileSync('cp', ['-a', `${ctx}-edited`, ctx]);
  r = await kiln(['build', '-q', '--no-cache', '-o', `type=tar,dest=${out('fresh')}.tar`, ctx]);
  assert.equal(r.code, 0, r.stderr);
  const reused = tree(out('reused'));
  const fresh = tree(out('fresh'));
  // every path, type, mode, owner and content the same; mtimes too for the files copied (the
  // touched f11 keeps its old mtime by design, as a cache hit would; RUNs ran again)
  const byRun = new Set(['edited/f2.txt', 's2/data/keep', 's2/data/replace']);
  const diff = differences(reused, fresh, (p) => OURS(p) && reused.get(p)?.type === 'f' && !p.endsWith('/f11.txt') && !byRun.has(p));
  assert.deepEqual(diff, []);
  const linked = (dir: string) => lstatSync(join(dir, 's1/src/c/h1')).ino === lstatSync(join(dir, 's1/src/c/h2')).ino;
  assert.equal(linked(out('reused')), linked(out('fresh')), 'hard links within the source kept alike');
  assert.ok(reused.size > 100, `the export has the copied trees (${reused.size} paths)`);
  assert.equal(readFileSync(join(out('reused'), 's2/data/replace'), 'utf8'), 'lower\n');
  assert.equal(reused.get('s1/src/c')?.mode, 0o700);
  // a directory source's target is made by MkdirAll (0755), whatever the source's mode; one
  // that existed keeps its own
  assert.equal(reused.get('s1/src')?.mode, 0o755);
  assert.equal(reused.get('s2/data')?.mode, 0o755);
  assert.equal(reused.get('s1/src/becomes-dir')?.type, 'd');
  assert.equal(reused.get('s1/src/a/f10.txt'), undefined);
  assert.deepEqual([reused.get('s3/a/f1.txt')?.uid, reused.get('s3/a/f1.txt')?.gid, reused.get('s3/a/f1.txt')?.mode], [7, 8, 0o640]);
  // the edited stage's RUN changed linked files in its own layer
  assert.equal(readFileSync(join(out('reused'), 'edited/f2.txt'), 'utf8'), 'file 2\nappended\n');
  assert.equal(reused.get('edited/f4.txt')?.mode, 0o700);

});

test('--no-cache copies everything again (nothing linked)', async (t) => {
  if (!suite.check(t)) return;
  const ctx = join(suite.work, 'nocache');
  mkdirSync(join(ctx, 'src'), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(ctx, `src/f${i}`), `${i}\n`);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY src /src\n');
  let r = await kiln(['build', '-q', ctx]);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(join(ctx, 'src/f0'), 'changed\n');
  r = await kiln(['build', '--no-cache', '--explain', '--progress', 'plain', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /linked from the previous result/);
  writeFileSync(join(ctx, 'src/f1'), 'changed\n'); // f0 as the --no-cache build saw it: 19 unchanged
  r = await kiln(['build', '--explain', '--progress', 'plain', ctx]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /19 unchanged files linked from the previous result/);
});
