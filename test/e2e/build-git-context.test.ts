// `kiln build <Git URL>` end to end (real CLI, FROM scratch, git daemon and smart HTTP on
// 127.0.0.1): the Dockerfile inside the repository (default branch, a tag, `-f` a path in it,
// `#ref:subdir`), `-f -` with the repository as context, no .dockerignore and no .git (unless
// BUILDKIT_CONTEXT_KEEP_GIT_DIR), submodules, a cached rebuild, a local directory of the same
// name winning, and the errors. Checked against Docker in test/conformance/git-diff.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runKiln } from '../helpers/cli.js';
import { GitSuite } from '../helpers/git-server.js';

const suite = new GitSuite('kiln-git-context-');

/** `kiln build ARGS… -o type=local` into a fresh directory. */
async function build(name: string, args: string[], input?: string) {
  const out = join(suite.work, `${name}-out`);
  const r = await runKiln(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ...args], { env: { KILN_ROOT: suite.root, CI: undefined }, ...(input !== undefined ? { input } : {}) });
  return { r, out };
}

const text = (p: string): string => readFileSync(p, 'utf8');

test('a Git context: the Dockerfile in the repository, no .dockerignore, no .git, submodules; a rebuild is cached', async (t) => {
  if (!suite.check(t)) return;
  const { r, out } = await build('default', [suite.server!.gitUrl('proj')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(text(join(out, 'ctx/hello.txt')), 'hello v2\n', 'the default branch; .dockerignore lists hello.txt but BuildKit applies none to a Git context');
  assert.equal(text(join(out, 'ctx/vendor/lib/lib.txt')), 'from the submodule\n');
  assert.ok(!existsSync(join(out, 'ctx/.git')));
  assert.ok(existsSync(join(out, 'ctx/.dockerignore')));
  const again = await build('default-again', [suite.server!.gitUrl('proj')]);
  assert.equal(again.r.code, 0, again.r.stderr);
  assert.match(again.r.stderr, /0 steps ran, 1 cached/);
  assert.deepEqual(suite.temps(), [], 'the checkout is removed when kiln exits');
});

test('a Git context: a tag over smart HTTP with -f a path inside it, #ref:subdir, -f - from stdin, BUILDKIT_CONTEXT_KEEP_GIT_DIR', async (t) => {
  if (!suite.check(t)) return;
  const other = await build('other', ['-f', 'build/Other.df', `${suite.server!.httpUrl('proj')}#v1`]);
  assert.equal(other.r.code, 0, other.r.stderr);
  assert.deepEqual(readdirSync(other.out), ['other.txt']);
  assert.equal(text(join(other.out, 'other.txt')), 'hello\n');

  const sub = await build('sub', [`${suite.server!.gitUrl('proj')}#main:sub`]);
  assert.equal(sub.r.code, 0, sub.r.stderr);
  // BuildKit updates the repository's submodules in the subdir's tree too (git-diff.test.ts agrees)
  assert.deepEqual(readdirSync(join(sub.out, 'subctx')).sort(), ['Dockerfile', 'deep', 'vendor']);

  const stdin = await build('stdin', ['-f', '-', `${suite.server!.gitUrl('proj')}#${suite.fx.v1}`], 'FROM scratch\nCOPY run.sh /r.sh\n');
  assert.equal(stdin.r.code, 0, stdin.r.stderr);
  assert.equal(text(join(stdin.out, 'r.sh')), '#!/bin/sh\necho run\n');

  const keep = await build('keep', ['--build-arg', 'BUILDKIT_CONTEXT_KEEP_GIT_DIR=1', `${suite.server!.gitUrl('proj')}#v1`]);
  assert.equal(keep.r.code, 0, keep.r.stderr);
  assert.equal(text(join(keep.out, 'ctx/.git/HEAD')), `${suite.fx.v1}\n`);
});

test('a local directory named like a Git URL is a local context (buildx checks the directory first)', async (t) => {
  if (!suite.check(t)) return;
  const cwd = join(suite.work, 'cwd');
  const dir = join(cwd, 'host.example', 'repo.git');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY marker /\n');
  writeFileSync(join(dir, 'marker'), 'local\n');
  const out = join(suite.work, 'local-out');
  const r = await runKiln(['build', '-q', '-o', `type=local,dest=${out}`, 'host.example/repo.git'], { env: { KILN_ROOT: suite.root, CI: undefined }, cwd });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(text(join(out, 'marker')), 'local\n');
});

test('a Git context that cannot be read: unreachable, unknown ref, missing subdir, no Dockerfile; nothing is left behind', async (t) => {
  if (!suite.check(t)) return;
  const g = suite.server!.gitUrl('proj');
  const cases: [string, string[], RegExp][] = [
    ['unreachable', ['git://127.0.0.1:1/proj.git'], /^ERROR: failed to fetch remote git:\/\/127\.0\.0\.1:1\/proj\.git: .*Connection refused/m],
    ['unknown-ref', [`${g}#nosuch`], /^ERROR: repository git:\/\/127\.0\.0\.1:\d+\/proj\.git does not contain ref nosuch$/m],
    ['bad-subdir', [`${g}#main:nope`], /^ERROR: failed to open subdir nope: no such directory in git:/m],
    ['no-dockerfile', ['-f', 'nope.df', `${g}#v1`], /^ERROR: failed to read dockerfile: open nope\.df: no such file or directory in git:\/\/127\.0\.0\.1:\d+\/proj\.git#v1$/m],
    ['ssh', ['git@127.0.0.1:proj.git'], /^ERROR: no SSH key "default" forwarded from the client/m],
  ];
  for (const [name, args, want] of cases) {
    const { r } = await build(`err-${name}`, args);
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, want, name);
    assert.match(r.stderr, /^hint: /m, name);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
  }
  assert.deepEqual(suite.temps(), []);
});
