// File names that are not valid UTF-8 (src/support/names.ts). kiln keeps paths as strings and
// cannot carry such a name, so every way one can reach a build fails loudly, naming the file and
// the Dockerfile line, where it used to be dropped or renamed without a word: a context file, a
// file a RUN step made (when its layer is written, and when a later stage copies it), and a tar
// entry (ADD). A name .dockerignore leaves out is no obstacle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { which } from '../helpers/prereq.js';
import { BusyboxSuite } from '../helpers/busybox-suite.js';

const suite = new BusyboxSuite('kiln-e2e-names-');
const kiln = (args: string[]) => suite.kiln(args);

/** A context dir with `Dockerfile` and a file named `bad` + byte 0xff. */
function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const ctx = join(suite.work, name);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
  for (const [f, body] of Object.entries(files)) writeFileSync(join(ctx, f), body);
  writeFileSync(Buffer.concat([Buffer.from(`${ctx}/sub-bad`), Buffer.from([0xff])]), 'x\n');
  return ctx;
}

/** The build failed as a user error, naming the file and the Dockerfile line. */
function assertRefused(r: { code: number | null; stderr: string }, line: number, shown: string): void {
  assert.notEqual(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes(`Dockerfile:${line}: file name is not valid UTF-8: ${shown}`), r.stderr);
  assert.doesNotMatch(r.stderr, /internal error|    at /, 'no stack trace');
}

test('a context file whose name is not UTF-8: refused, unless .dockerignore leaves it out', async (t) => {
  if (!suite.check(t)) return;
  const ctx = context('ctx-copy', 'FROM busybox\nCOPY . /ctx/\n', { 'good.txt': 'good\n' });
  const r = await kiln(['build', '--progress', 'plain', ctx]);
  assertRefused(r, 2, './sub-bad\\xff');
  writeFileSync(join(ctx, '.dockerignore'), 'sub-*\n');
  const out = join(suite.work, 'out-ignored');
  const ok = await kiln(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(readdirSync(join(out, 'ctx')).sort(), ['.dockerignore', 'Dockerfile', 'good.txt']);
});

test('a file a RUN step names with bytes that are not UTF-8: refused when its layer is written', async (t) => {
  if (!suite.check(t)) return;
  const ctx = context('ctx-run', 'FROM busybox\nRUN touch "/made-$(printf "\\377")"\n');
  const r = await kiln(['build', '--progress', 'plain', '--no-cache', '-t', 'names:run', ctx]);
  assertRefused(r, 2, '/made-\\xff');
});

test('a later stage copying such a file from an earlier one: refused at its COPY', async (t) => {
  if (!suite.check(t)) return;
  const ctx = context('ctx-from', 'FROM busybox AS make\nRUN mkdir /d && touch /d/ok "/d/q$(printf "\\376")"\nFROM busybox\nCOPY --from=make /d /d2\n');
  const r = await kiln(['build', '--progress', 'plain', '--no-cache', ctx]);
  assertRefused(r, 4, '/d/q\\xfe');
});

test('ADD of a local tar holding such a name: refused', async (t) => {
  if (!suite.check(t, { ok: which('tar') !== undefined, what: 'tar' })) return;
  const ctx = context('ctx-add', 'FROM busybox\nADD names.tar /x/\n');
  execFileSync('tar', ['-cf', 'names.tar', '--exclude', 'Dockerfile', '--exclude', 'names.tar', '.'], { cwd: ctx });
  writeFileSync(join(ctx, '.dockerignore'), 'sub-*\n');
  const r = await kiln(['build', '--progress', 'plain', ctx]);
  assert.notEqual(r.code, 0, r.stderr);
  assert.match(r.stderr, /Dockerfile:2: tar entry name is not valid UTF-8: \.\/sub-bad\\xff/);
  assert.doesNotMatch(r.stderr, /internal error|    at /);
});
