// ADD from Git repositories end to end (real CLI, FROM scratch, real git servers on 127.0.0.1:
// `git daemon` for git:// and `git http-backend` for smart HTTP): a branch, a lightweight and an
// annotated tag, a commit id, the default branch, `#ref:subdir`, submodules, --chown/--chmod,
// --keep-git-dir; the cache (an unchanged ref is cached, a new commit on the branch re-runs the
// step, a commit id needs no network); errors at their Dockerfile line. What BuildKit does with
// the same sources is checked against Docker in test/conformance/git-diff.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runKiln } from '../helpers/cli.js';
import { prereq, which } from '../helpers/prereq.js';
import { git, GitSuite, makeRepo, writeFiles } from '../helpers/git-server.js';

const suite = new GitSuite('kiln-add-git-');

/** Builds a FROM scratch Dockerfile; the result is exported as a tar (owners kept) and extracted. */
async function build(name: string, lines: string[], extra: string[] = []) {
  const ctx = join(suite.work, `${name}-ctx`);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), ['FROM scratch', ...lines, ''].join('\n'));
  const out = join(suite.work, `${name}-out`);
  const r = await runKiln(['build', '--progress', 'plain', ...extra, '-o', `type=tar,dest=${out}.tar`, ctx], { env: { KILN_ROOT: suite.root, CI: undefined } });
  if (r.code === 0) {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    execFileSync('tar', ['-xpf', `${out}.tar`, '--numeric-owner', '--warning=no-timestamp', '-C', out]);
  }
  return { r, out };
}

const mode = (p: string): number => lstatSync(p).mode & 0o7777;
const owner = (p: string): string => `${lstatSync(p).uid}:${lstatSync(p).gid}`;
const text = (p: string): string => readFileSync(p, 'utf8');

test('ADD git: a branch, tags, a commit id, the default branch, #ref:subdir, over git:// and smart HTTP', async (t) => {
  if (!suite.check(t)) return;
  const g = suite.server!.gitUrl('proj');
  const h = suite.server!.httpUrl('proj');
  const { r, out } = await build('refs', [
    `ADD ${g}#main /branch/`,
    `ADD ${g}#v1 /tag`,
    `ADD ${h}#v1a:sub /subdir`,
    `ADD ${g}#${suite.fx.v1} /sha/`,
    `ADD ${h} /default`,
    `ADD ${g}#refs/tags/v1:/sub/deep/ /deep`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(text(join(out, 'branch/hello.txt')), 'hello v2\n');
  assert.equal(text(join(out, 'branch/vendor/lib/lib.txt')), 'from the submodule\n', 'submodules are checked out');
  assert.ok(!existsSync(join(out, 'branch/.git')), 'no .git without --keep-git-dir');
  assert.equal(text(join(out, 'tag/hello.txt')), 'hello\n');
  assert.ok(!existsSync(join(out, 'tag/vendor')));
  assert.equal(mode(join(out, 'tag/run.sh')), 0o755);
  assert.equal(mode(join(out, 'tag/hello.txt')), 0o644);
  assert.equal(mode(join(out, 'tag')), 0o755);
  assert.equal(mode(join(out, 'tag/sub/deep')), 0o755);
  assert.equal(readlinkSync(join(out, 'tag/link')), 'hello.txt');
  assert.equal(owner(join(out, 'tag/run.sh')), '0:0');
  // the subdir's contents land at the destination
  assert.deepEqual(readdirSync(join(out, 'subdir')).sort(), ['Dockerfile', 'deep']);
  assert.equal(text(join(out, 'subdir/deep/d.txt')), 'deep\n');
  assert.equal(text(join(out, 'sha/hello.txt')), 'hello\n');
  assert.equal(text(join(out, 'default/hello.txt')), 'hello v2\n');
  assert.deepEqual(readdirSync(join(out, 'deep')), ['d.txt']);
  assert.deepEqual(suite.temps(), [], 'checkouts are removed');
});

test('ADD git: --chown and --chmod apply to the whole tree and a destination ADD creates; --exclude', async (t) => {
  if (!suite.check(t)) return;
  const g = suite.server!.gitUrl('proj');
  const { r, out } = await build('owned', [`ADD --chown=7:8 --chmod=700 ${g}#v1:sub /owned`, `ADD --chown=7:8 --chmod=600 ${g}#v1:sub/deep /slash/`, `ADD --exclude=*.sh --exclude=sub ${g}#v1 /ex/`]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(join(out, 'ex')).sort(), ['.dockerignore', 'Dockerfile', 'build', 'hello.txt', 'link'], '--exclude applies to the repository tree');
  for (const p of ['owned', 'owned/deep', 'owned/deep/d.txt', 'owned/Dockerfile']) {
    assert.equal(owner(join(out, p)), '7:8', p);
    assert.equal(mode(join(out, p)), 0o700, p);
  }
  // `dest/` is made before the copy (fsutil MkdirAll: 0755, no --chmod)
  assert.equal(mode(join(out, 'slash')), 0o755);
  assert.equal(owner(join(out, 'slash')), '7:8');
  assert.equal(mode(join(out, 'slash/d.txt')), 0o600);
});

test('ADD git --keep-git-dir=true: a .git at the commit (detached), origin with credentials masked; not with a subdir', async (t) => {
  if (!suite.check(t)) return;
  const h = suite.server!.httpUrl('proj').replace('http://', 'http://user:secret@');
  const { r, out } = await build('keep', [`ADD --keep-git-dir=true ${h}#v1 /k`, `ADD --keep-git-dir=true ${suite.server!.gitUrl('proj')}#main:sub /ks`, `ADD --keep-git-dir=false ${suite.server!.gitUrl('proj')}#main /kf`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(text(join(out, 'k/.git/HEAD')), `${suite.fx.v1}\n`);
  assert.equal(git(join(out, 'k'), 'rev-parse', 'HEAD'), suite.fx.v1);
  assert.equal(git(join(out, 'k'), 'config', 'remote.origin.url'), h.replace('user:secret@', 'xxxxx:xxxxx@'));
  assert.ok(!text(join(out, 'k/.git/config')).includes('secret'));
  assert.equal(git(join(out, 'k'), 'status', '--porcelain'), '', 'the work tree matches the commit');
  assert.ok(!existsSync(join(out, 'ks/.git')), 'a subdir never keeps .git (BuildKit)');
  assert.ok(!existsSync(join(out, 'kf/.git')));
});

test('ADD git cache: an unchanged ref is cached, a new commit on the branch re-runs the step, a commit id is cached without the server', async (t) => {
  if (!suite.check(t)) return;
  const src = join(suite.work, 'moving-src');
  const first = makeRepo(src, { 'v.txt': 'one\n' });
  suite.server!.publish(src, 'moving');
  const g = suite.server!.gitUrl('moving');
  const lines = [`ADD ${g}#${first} /pinned/`, `ADD ${g}#main /tip/`];
  const a = await build('cache', lines);
  assert.equal(a.r.code, 0, a.r.stderr);
  assert.equal(text(join(a.out, 'tip/v.txt')), 'one\n');
  const b = await build('cache', lines);
  assert.equal(b.r.code, 0, b.r.stderr);
  assert.match(b.r.stderr, /0 steps ran, 2 cached/);
  writeFiles(src, { 'v.txt': 'two\n' });
  git(src, 'commit', '-q', '-am', 'moved');
  git(src, 'push', '-q', join(suite.server!.root, 'moving.git'), 'main');
  const c = await build('cache', lines);
  assert.equal(c.r.code, 0, c.r.stderr);
  assert.match(c.r.stderr, /#1 CACHED/);
  assert.match(c.r.stderr, new RegExp(`#2 cache miss: ${g.replace(/[.:/]/g, '\\$&')}#main changed`));
  assert.match(c.r.stderr, /1 steps ran, 1 cached/);
  assert.equal(text(join(c.out, 'tip/v.txt')), 'two\n');
  assert.equal(text(join(c.out, 'pinned/v.txt')), 'one\n');
  // a commit id is its own cache key: no ls-remote, so a cached step needs no server at all
  rmSync(join(suite.server!.root, 'moving.git'), { recursive: true });
  const d = await build('cache', [lines[0]!]);
  assert.equal(d.r.code, 0, d.r.stderr);
  assert.match(d.r.stderr, /0 steps ran, 1 cached/);
});

test('ADD git errors: unreachable, unknown ref, missing subdir or commit, COPY, --checksum, ssh without --ssh: at the line, with a hint', async (t) => {
  if (!suite.check(t)) return;
  const g = suite.server!.gitUrl('proj');
  const cases: [string, string, RegExp][] = [
    ['unreachable', 'ADD git://127.0.0.1:1/nothing.git /x', /ERROR: Dockerfile:3: failed to fetch remote git:\/\/127\.0\.0\.1:1\/nothing\.git: .*Connection refused/],
    ['no-repo', `ADD ${suite.server!.gitUrl('nope')}#main /x`, /ERROR: Dockerfile:3: failed to fetch remote git:\/\/127\.0\.0\.1:\d+\/nope\.git: /],
    ['unknown-ref', `ADD ${g}#nosuch /x`, /ERROR: Dockerfile:3: repository git:\/\/127\.0\.0\.1:\d+\/proj\.git does not contain ref nosuch/],
    ['bad-subdir', `ADD ${g}#main:nope /x`, /ERROR: Dockerfile:3: failed to open subdir nope: no such directory in git:/],
    ['outside-subdir', `ADD ${g}#main:../x /x`, /ERROR: Dockerfile:3: subdir "\.\.\/x" of .* leaves the repository/],
    ['bad-commit', `ADD ${g}#${'0'.repeat(40)} /x`, /ERROR: Dockerfile:3: commit 0{40} not found in git:/],
    ['copy', `COPY ${g} /x`, /ERROR: Dockerfile:3: source can't be a git ref for COPY/],
    ['checksum', `ADD --checksum=sha256:${'0'.repeat(64)} ${suite.server!.httpUrl('proj')} /x`, /ERROR: Dockerfile:3: checksum can't be specified for non-HTTP sources/],
    ['ssh', 'ADD git@127.0.0.1:proj.git /x', /ERROR: Dockerfile:3: no SSH key "default" forwarded from the client/],
    ['option-ref', `ADD ${g}#--upload-pack=touch /x`, /ERROR: Dockerfile:3: invalid Git ref "--upload-pack=touch"/],
  ];
  for (const [name, line, want] of cases) {
    const { r } = await build(`err-${name}`, ['WORKDIR /w', line]);
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, want, name);
    assert.match(r.stderr, /^hint: /m, name);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
  }
  assert.deepEqual(suite.temps(), []);
});

test('ADD git over ssh: `--ssh default` is the agent git uses (no ssh server here: the connection is refused)', async (t) => {
  if (!suite.check(t) || !prereq(t, which('ssh-keygen') !== undefined && which('ssh-agent') !== undefined, 'ssh-keygen and ssh-agent')) return;
  const key = join(suite.work, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const { r } = await build('ssh', ['ADD ssh://git@127.0.0.1:1/repo.git#main /x'], ['--ssh', `default=${key}`]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ERROR: Dockerfile:2: failed to fetch remote ssh:\/\/xxxxx@127\.0\.0\.1:1\/repo\.git: .*port 1: Connection refused/);
});
