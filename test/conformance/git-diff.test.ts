// ADD from Git and Git build contexts: kiln against Docker 26's BuildKit with the same git servers
// on 127.0.0.1 (git daemon for git://, git http-backend for smart HTTP; dockerd is on this host, so
// BuildKit fetches from them itself). FROM scratch; each result is exported with -o type=tar
// (which keeps owners), extracted, and the trees must agree: paths, types, modes, owners, link
// targets, contents (mtimes ignored). What cannot agree is left out, named in SKIP_PATHS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runKiln } from '../helpers/cli.js';
import { fileDockerd } from '../helpers/dockerd.js';
import { GitSuite } from '../helpers/git-server.js';
import { diffTrees, summarise, walkTree, type Tree } from '../helpers/tree-compare.js';

const { engine } = fileDockerd();
const suite = new GitSuite('kiln-git-diff-');

/**
 * What differs by construction: a submodule's `.git` file names the superproject's git directory
 * by a relative path from wherever each builder checked out (its type and mode are compared);
 * a kept .git's index and reflogs (also a submodule's, under .git/modules) hold stat data and
 * times of the checkout.
 */
const SKIP_CONTENT = /\/vendor\/lib\/\.git$/;
const SKIP_PATHS = /\/\.git\/(.*\/)?(index|logs(\/.*)?)$/;

function treeOf(tarPath: string, name: string): Tree {
  const dir = join(suite.work, `x-${name}`);
  mkdirSync(dir);
  execFileSync('tar', ['-xpf', tarPath, '--numeric-owner', '--warning=no-timestamp', '-C', dir]);
  const tree = walkTree(dir);
  for (const p of Object.keys(tree)) {
    if (SKIP_PATHS.test(p)) delete tree[p];
    else if (SKIP_CONTENT.test(p)) {
      const e = tree[p]!;
      delete e.content;
      delete e.sha256;
      delete e.size;
    }
  }
  return tree;
}

test('kiln and docker build agree on ADD from Git and on Git build contexts', async (t) => {
  if (!suite.check(t)) return;
  const dockerd = engine(t);
  if (!dockerd) return;
  const { server, fx, work } = suite;
  // the same repository under a second name, for the refs without the submodule (see below)
  execFileSync('cp', ['-a', join(server!.root, 'proj.git'), join(server!.root, 'proj-v1.git')]);
  // BuildKit keeps one bare repository per remote across checkouts, and `git checkout REF -- .`
  // leaves the index entries of an earlier ref there: a gitlink of main's submodule stays, and
  // `git submodule update` then adds vendor/lib to a v1 tree that has none, depending on which
  // ADD of that remote ran first. kiln fetches each source into a fresh repository (v1 has no
  // vendor/). So refs without the submodule are read from a second remote, proj-v1.
  const g = server!.gitUrl('proj');
  const h = server!.httpUrl('proj');
  const g1 = server!.gitUrl('proj-v1');
  const h1 = server!.httpUrl('proj-v1');
  const ctx = join(work, 'ctx');
  mkdirSync(ctx);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    [
      'FROM scratch',
      `ADD ${g}#main /branch/`,
      `ADD ${g1}#v1 /tag`,
      `ADD ${h1}#v1a:sub /subdir`,
      `ADD ${g1}#${fx.v1} /sha/`,
      `ADD ${h} /default`,
      `ADD ${g}#main:sub /subdir-main`,
      `ADD --chown=7:8 --chmod=700 ${g1}#v1:sub /owned`,
      `ADD --chown=7:8 --chmod=600 ${g1}#v1:sub/deep /slash/`,
      `ADD --keep-git-dir=true ${g1}#v1 /keep`,
      `ADD --keep-git-dir=true ${h}#${fx.main} /keep-sha`,
      `ADD --keep-git-dir=true ${g}#main:sub /keep-sub`,
      '',
    ].join('\n'),
  );
  const cases: { name: string; args: string[] }[] = [
    { name: 'add', args: [ctx] },
    { name: 'context', args: [g] },
    { name: 'context-f', args: ['-f', 'build/Other.df', `${h1}#v1`] },
    { name: 'context-subdir', args: [`${g}#main:sub`] },
    { name: 'context-keep', args: ['--build-arg', 'BUILDKIT_CONTEXT_KEEP_GIT_DIR=1', `${g1}#v1`] },
  ];
  const kilnRoot = suite.root;
  const failures: string[] = [];
  for (const c of cases) {
    const dockerOut = join(work, `docker-${c.name}.tar`);
    const kilnOut = join(work, `kiln-${c.name}.tar`);
    const d = await dockerd.docker(['build', '-q', ...c.args.slice(0, -1), '-o', `type=tar,dest=${dockerOut}`, c.args[c.args.length - 1]!], { env: { DOCKER_BUILDKIT: '1' }, timeoutMs: 180_000 });
    assert.equal(d.code, 0, `docker ${c.name}: ${d.stderr}`);
    const k = await runKiln(['build', '-q', ...c.args.slice(0, -1), '-o', `type=tar,dest=${kilnOut}`, c.args[c.args.length - 1]!], { env: { KILN_ROOT: kilnRoot }, timeoutMs: 180_000 });
    assert.equal(k.code, 0, `kiln ${c.name}: ${k.stderr}`);
    const diff = diffTrees(treeOf(dockerOut, `docker-${c.name}`), treeOf(kilnOut, `kiln-${c.name}`), ['docker', 'kiln']);
    if (diff.length) failures.push(`${c.name}:\n${summarise(diff)}`);
  }
  assert.deepEqual(failures, []);
});
