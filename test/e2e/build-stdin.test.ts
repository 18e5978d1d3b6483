// `kiln build -` and `kiln build http://…` end to end (real CLI, runc, overlayfs, a busybox base):
// standard input or a URL as the build context (a tar, plain or compressed, with -f naming the
// Dockerfile inside it) or as the Dockerfile alone, and buildx's errors for what they cannot be. What BuildKit does with such a
// context (owners from the archive, no .dockerignore) is checked against Docker in
// test/conformance/stdin-diff.test.ts.
import { after, before, test } from 'node:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { chownSync, chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { runKiln } from '../helpers/cli.js';
import { BusyboxSuite } from '../helpers/busybox-suite.js';

const suite = new BusyboxSuite('kiln-stdin-');

const kiln = (args: string[], input: string | Buffer) => runKiln(args, { env: { KILN_ROOT: suite.root, CI: undefined }, input, timeoutMs: 120_000 });

/** A context directory as a tar (GNU tar, as users make one): root-owned unless chowned below. */
function contextTar(name: string, files: Record<string, string>, prepare?: (dir: string) => void): Buffer {
  const dir = join(suite.work, name);
  mkdirSync(dir, { recursive: true });
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  prepare?.(dir);
  return execFileSync('tar', ['-c', '-C', dir, '.'], { maxBuffer: 64 << 20 });
}

const stdinTemps = (): string[] => {
  const tmp = join(suite.root, 'build', 'tmp');
  return existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('kiln-stdin-')) : [];
};

test('a tar on stdin is the context: COPY keeps its owners, no .dockerignore applies; -f names the Dockerfile inside a compressed one', async (t) => {
  if (!suite.check(t)) return;
  const tar = contextTar(
    'tarctx',
    { Dockerfile: 'FROM scratch\nCOPY . /ctx/\n', 'Alt.df': 'FROM scratch\nCOPY sub /other/\n', 'sub/a': 'owned\n', 'ignored.txt': 'still here\n', '.dockerignore': 'ignored.txt\n' },
    (dir) => {
      chownSync(join(dir, 'sub/a'), 1000, 50);
      chmodSync(join(dir, 'sub/a'), 0o640);
      symlinkSync('sub/a', join(dir, 'link'));
    },
  );
  // exported as a tar: a local export gives every file to the user who builds, as buildx does
  const out = join(suite.work, 'tar-out');
  const r = await kiln(['build', '--progress', 'plain', '-o', `type=tar,dest=${out}.tar`, '-'], tar);
  assert.equal(r.code, 0, r.stderr);
  mkdirSync(out);
  execFileSync('tar', ['-xpf', `${out}.tar`, '--numeric-owner', '-C', out]);
  const a = lstatSync(join(out, 'ctx/sub/a'));
  assert.deepEqual([a.uid, a.gid, a.mode & 0o7777], [1000, 50, 0o640], 'the owner and mode the archive gave');
  assert.equal(readFileSync(join(out, 'ctx/ignored.txt'), 'utf8'), 'still here\n', 'BuildKit applies no .dockerignore to an archive context');
  assert.equal(readlinkSync(join(out, 'ctx/link')), 'sub/a');

  const other = join(suite.work, 'gz-out');
  const g = await kiln(['build', '--progress', 'plain', '-f', 'Alt.df', '-o', `type=tar,dest=${other}.tar`, '-'], gzipSync(tar));
  assert.equal(g.code, 0, g.stderr);
  mkdirSync(other);
  execFileSync('tar', ['-xpf', `${other}.tar`, '--numeric-owner', '-C', other]);
  assert.deepEqual(readdirSync(other), ['other']);
  assert.equal(lstatSync(join(other, 'other/a')).uid, 1000);
  assert.deepEqual(stdinTemps(), [], 'the extracted context is removed after the build');
});

test('a RUN bind mount of a stdin context shows the archive as it is, and a second build of the same archive is cached', async (t) => {
  if (!suite.check(t)) return;
  const tar = contextTar('bindctx', { Dockerfile: 'FROM busybox\nRUN --mount=type=bind,target=/c stat -c %u:%g /c/f > /owner\n', f: 'x\n' }, (dir) => chownSync(join(dir, 'f'), 1234, 99));
  const out = join(suite.work, 'bind-out');
  const first = await kiln(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, '-'], tar);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(readFileSync(join(out, 'owner'), 'utf8'), '1234:99\n');
  const again = await kiln(['build', '--progress', 'plain', '-'], tar);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 steps ran, 1 cached/);
});

test('a Dockerfile on stdin builds with an empty context; a COPY says why it finds nothing', async (t) => {
  if (!suite.check(t)) return;
  const ok = await kiln(['build', '--progress', 'plain', '-'], 'FROM busybox\nRUN echo from-stdin > /x\n');
  assert.equal(ok.code, 0, ok.stderr);
  const bad = await kiln(['build', '--progress', 'plain', '-'], 'FROM busybox\nCOPY app.js /\n');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^ERROR: Dockerfile:2: "\/app.js": not found$/m);
  assert.match(bad.stderr, /the Dockerfile came on standard input alone, so the build context is empty/);
  assert.deepEqual(stdinTemps(), []);
});

test("what stdin cannot be: both Dockerfile and context, a Dockerfile with -f, nothing, a compressed non-archive", async (t) => {
  if (!suite.check(t)) return;
  const cases: [string[], string | Buffer, RegExp][] = [
    [['-f', '-'], 'FROM busybox\n', /^ERROR: invalid argument: can't use stdin for both build context and dockerfile$/m],
    [['-f', 'Dockerfile'], 'FROM busybox\n', /^ERROR: ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles$/m],
    [[], '', /^ERROR: standard input is empty/m],
    [[], gzipSync('FROM busybox\n'), /^ERROR: the build context from standard input cannot be extracted/m],
  ];
  for (const [flags, input, want] of cases) {
    const r = await kiln(['build', '--progress', 'plain', ...flags, '-'], input);
    assert.notEqual(r.code, 0, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, want);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.deepEqual(stdinTemps(), []);
});

let server: http.Server | undefined;
let base = '';
const served = new Map<string, Buffer>();

before(async () => {
  server = http.createServer((req, res) => {
    const body = served.get(req.url ?? '');
    if (body === undefined) res.writeHead(404).end('not here\n');
    else res.writeHead(200).end(body);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

test('a URL context: a tar.gz is downloaded and extracted (-f inside it), a Dockerfile alone builds, a 404 and a Git URL fail clearly', async (t) => {
  if (!suite.check(t)) return;
  const tar = contextTar('urlctx', { 'build/Dockerfile.url': 'FROM busybox\nCOPY data.txt /from-url.txt\n', 'data.txt': 'over http\n' });
  served.set('/ctx.tar.gz', gzipSync(tar));
  served.set('/Dockerfile', Buffer.from('FROM busybox\nRUN echo alone > /alone\n'));
  const out = join(suite.work, 'url-out');
  const r = await kiln(['build', '--progress', 'plain', '-f', 'build/Dockerfile.url', '-o', `type=local,dest=${out}`, `${base}/ctx.tar.gz`], '');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(out, 'from-url.txt'), 'utf8'), 'over http\n');
  const alone = await kiln(['build', '--progress', 'plain', `${base}/Dockerfile`], '');
  assert.equal(alone.code, 0, alone.stderr);
  const missing = await kiln(['build', '--progress', 'plain', `${base}/nothing.tar`], '');
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /^ERROR: failed to download http:\/\/127\.0\.0\.1:\d+\/nothing\.tar: invalid response status 404/m);
  // a Git URL is cloned, not downloaded (test/e2e/build-git-context.test.ts): nothing listens here
  const git = await kiln(['build', 'http://127.0.0.1:1/org/repo.git#main:sub'], '');
  assert.equal(git.code, 1);
  assert.match(git.stderr, /^ERROR: failed to fetch remote http:\/\/127\.0\.0\.1:1\/org\/repo\.git: /m);
  assert.deepEqual(stdinTemps(), []);
});
