// A big COPY from the context takes its digest from a tree record when its inputs' signature is
// unchanged (src/build/copy/signature.ts, stat-cache.ts). End to end with the real CLI: the
// record is written once the files are older than a second and then used; and every kind of
// change misses, including the one a signature without ctime would hide (same size, same mtime,
// new content).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BusyboxSuite } from '../helpers/busybox-suite.js';

const suite = new BusyboxSuite('kiln-e2e-tree-');
const kiln = (args: string[]) => suite.kiln(args);
const FILES = 300; // past the size below which a COPY is hashed file by file

/** Records written so far for this store. */
function records(): string[] {
  const dir = join(suite.root, 'build', 'context-hash');
  return readdirSync(dir).filter((n) => n.includes('.tree-'));
}

/** The COPY's decision in --explain output: whether it ran, why, and its context line. */
function copyStep(stderr: string): { ran: boolean; why: string; context: string } {
  const m = /\[stage-0 2\/3\] COPY big\/ \/big\/\n {2}(?:ran: (.*)|CACHED.*)(?:\n {2}(?!context).*)*\n {2}context (.*)/.exec(stderr);
  assert.ok(m, stderr);
  return { ran: m[1] !== undefined, why: m[1] ?? '', context: m[2]! };
}

test('a big COPY: the tree record is used while nothing changed, and every change misses', async (t) => {
  if (!suite.check(t)) return;
  const ctx = join(suite.work, 'ctx');
  mkdirSync(join(ctx, 'big', 'sub'), { recursive: true });
  for (let i = 0; i < FILES; i++) writeFileSync(join(ctx, 'big', i % 2 ? 'sub' : '', `f${i}`), `file ${i}\n`);
  utimesSync(join(ctx, 'big', 'f0'), 1_700_000_000, 1_700_000_000);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY big/ /big/\nRUN cat /big/f0 /big/sub/f1\n');
  const build = async (): Promise<string> => {
    const r = await kiln(['build', '--progress', 'plain', '--explain', '-t', 'tree:latest', ctx]);
    assert.equal(r.code, 0, r.stderr);
    return r.stderr;
  };

  // fresh files are racy: no record until they are a second old
  let out = await build();
  assert.equal(copyStep(out).ran, true);
  assert.deepEqual(records(), []);
  await sleep(1100);
  out = await build();
  assert.equal(copyStep(out).ran, false);
  assert.equal(records().length, 1, 'written once nothing is racy');
  out = await build();
  assert.equal(copyStep(out).ran, false);
  assert.match(copyStep(out).context, new RegExp(`\\(${FILES} files, 0 read, ${FILES} from the stat cache\\)$`));

  // same size, same mtime (whole seconds, so that utimes restores it exactly), new content:
  // only ctime (and the bytes) tell
  const f0 = join(ctx, 'big', 'f0');
  writeFileSync(f0, 'FILE 0\n');
  utimesSync(f0, 1_700_000_000, 1_700_000_000);
  assert.equal(lstatSync(f0, { bigint: true }).mtimeNs, 1_700_000_000_000_000_000n);
  out = await build();
  assert.equal(copyStep(out).why, 'big/f0 changed');

  // a mode change, an added file, a removed file: each misses (after a quiet second, so that
  // each starts from a stored record)
  const edits: Array<[string, () => void, RegExp]> = [
    ['chmod', () => chmodSync(join(ctx, 'big', 'sub', 'f3'), 0o600), /big\/sub\/f3/],
    ['add', () => writeFileSync(join(ctx, 'big', 'new'), 'new\n'), /big\/new/],
    ['remove', () => rmSync(join(ctx, 'big', 'f2')), /big\/f2/],
  ];
  for (const [what, edit, why] of edits) {
    await sleep(1100);
    out = await build();
    assert.equal(copyStep(out).ran, false, `${what}: a stored record first`);
    edit();
    out = await build();
    const step = copyStep(out);
    assert.equal(step.ran, true, `${what} must miss`);
    assert.match(step.why, why, what);
  }
});
