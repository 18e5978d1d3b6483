// `kiln build -` against Docker 26's `docker build -` (BuildKit) with the same bytes on stdin or
// at a URL: a tar context (plain, gzip; owners, modes, links, a .dockerignore that BuildKit does not apply
// to it, -f naming a Dockerfile inside it) and a Dockerfile alone. FROM scratch, so no base
// image is needed; each result is exported with -o type=tar (which keeps owners), extracted, and
// the trees must agree (paths, types, modes, owners, link targets, contents; mtimes ignored).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, symlinkSync, linkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runKiln } from '../helpers/cli.js';
import { fileDockerd } from '../helpers/dockerd.js';
import { diffTrees, summarise, walkTree } from '../helpers/tree-compare.js';

const { engine } = fileDockerd();
let work = '';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'kiln-stdin-diff-'));
});

after(() => {
  if (work) execFileSync('rm', ['-rf', work]);
});

function contextTar(): Buffer {
  const dir = join(work, 'ctx');
  mkdirSync(join(dir, 'sub/deep'), { recursive: true });
  const files: Record<string, string> = {
    Dockerfile: 'FROM scratch\nCOPY . /ctx/\nCOPY --chown=7:8 sub /chowned/\n',
    'Alt.df': 'FROM scratch\nCOPY sub/ /other/\nCOPY link /via-link\n',
    'sub/a': 'owned\n',
    'sub/deep/b': 'bee\n',
    'ignored.txt': 'BuildKit ignores no file of an archive context\n',
    '.dockerignore': 'ignored.txt\nsub/deep\n',
  };
  for (const [p, c] of Object.entries(files)) writeFileSync(join(dir, p), c);
  chownSync(join(dir, 'sub/a'), 1000, 50);
  chmodSync(join(dir, 'sub/a'), 0o4750);
  chownSync(join(dir, 'sub/deep'), 33, 33);
  chmodSync(join(dir, 'sub/deep'), 0o1777);
  symlinkSync('sub/a', join(dir, 'link'));
  symlinkSync('/etc/passwd', join(dir, 'abs-link'));
  linkSync(join(dir, 'sub/deep/b'), join(dir, 'hard-b'));
  return execFileSync('tar', ['-c', '-C', dir, '.'], { maxBuffer: 64 << 20 });
}

/** Extracts an exported tar (owners as recorded) and walks it. */
function treeOf(tarPath: string, name: string): ReturnType<typeof walkTree> {
  const dir = join(work, `x-${name}`);
  mkdirSync(dir);
  execFileSync('tar', ['-xpf', tarPath, '--numeric-owner', '-C', dir]);
  return walkTree(dir);
}

test('kiln build - and docker build - agree on a tar context, a compressed one with -f, a Dockerfile on stdin, and a tar at a URL', async (t) => {
  const dockerd = engine(t);
  if (!dockerd) return;
  const tar = contextTar();
  // BuildKit downloads a URL context itself (dockerd is on this host): both fetch the same bytes
  const server = http.createServer((req, res) => (req.url === '/ctx.tar.gz' ? res.writeHead(200).end(gzipSync(tar)) : res.writeHead(404).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ctx.tar.gz`;
  const cases: { name: string; flags: string[]; input: Buffer; context?: string }[] = [
    { name: 'tar', flags: [], input: tar },
    { name: 'gzip-f', flags: ['-f', 'Alt.df'], input: gzipSync(tar) },
    { name: 'dockerfile', flags: [], input: Buffer.from('FROM scratch\nLABEL a=b\n') },
    { name: 'url', flags: ['-f', 'Alt.df'], input: Buffer.alloc(0), context: url },
  ];
  const kilnRoot = join(work, 'kiln-root');
  for (const c of cases) {
    const dockerOut = join(work, `docker-${c.name}.tar`);
    const kilnOut = join(work, `kiln-${c.name}.tar`);
    const d = await dockerd.docker(['build', '-q', ...c.flags, '-o', `type=tar,dest=${dockerOut}`, c.context ?? '-'], { input: c.input, env: { DOCKER_BUILDKIT: '1' }, timeoutMs: 120_000 });
    assert.equal(d.code, 0, `docker ${c.name}: ${d.stderr}`);
    const k = await runKiln(['build', '-q', ...c.flags, '-o', `type=tar,dest=${kilnOut}`, c.context ?? '-'], { env: { KILN_ROOT: kilnRoot }, input: c.input, timeoutMs: 120_000 });
    assert.equal(k.code, 0, `kiln ${c.name}: ${k.stderr}`);
    const diff = diffTrees(treeOf(dockerOut, `docker-${c.name}`), treeOf(kilnOut, `kiln-${c.name}`), ['docker', 'kiln']);
    assert.deepEqual(diff, [], `${c.name}:\n${summarise(diff)}`);
  }
});
