// COPY semantics on real temp trees: each case builds a context and a destination rootfs, runs
// executeCopy, and compares the whole resulting destination tree (types, modes, owners, content).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chownSync, linkSync, lstatSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as xattr from 'fs-xattr';
import { KilnError } from '../../errors.js';
import { IgnoreMatcher, parseDockerignore } from '../../context/index.js';
import { makeTempDir, removeTree } from '../../support/index.js';
import { describe as describeTree, makeTree, type TreeSpec } from '../../../test/helpers/copy-tree.js';
import { needRoot } from '../../../test/helpers/prereq.js';
import { executeCopy, type CopyRequest } from './index.js';

const base = makeTempDir('kiln-copy-test-');
after(() => removeTree(base));
let n = 0;

interface Case {
  ctx?: TreeSpec;
  destInit?: TreeSpec;
  dockerignore?: string;
  req: Partial<CopyRequest> & { sources: string[]; dest: string };
}

/** Runs one COPY; returns the described destination tree and the dirs. */
async function run(c: Case): Promise<{ tree: string[]; ctx: string; dest: string }> {
  const dir = `${base}/${++n}`;
  const ctx = `${dir}/ctx`;
  const dest = `${dir}/rootfs`;
  makeTree(ctx, c.ctx ?? {});
  makeTree(dest, c.destInit ?? {});
  const req: CopyRequest = {
    srcRoot: ctx,
    srcKind: 'context',
    inline: [],
    destRoot: dest,
    parents: false,
    excludes: [],
    link: false,
    ...(c.dockerignore !== undefined ? { ignore: new IgnoreMatcher(parseDockerignore(c.dockerignore)) } : {}),
    ...c.req,
  };
  await executeCopy(req);
  return { tree: describeTree(dest), ctx, dest };
}

async function fails(c: Case, code: string, message?: RegExp): Promise<KilnError> {
  try {
    await run(c);
  } catch (e) {
    assert.ok(e instanceof KilnError, `expected KilnError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

const CTX: TreeSpec = {
  'a.txt': { content: 'A', mode: 0o640 },
  'b.txt': 'B',
  'c.md': 'C',
  'dir/': { mode: 0o750 },
  'dir/x': { content: 'X', mode: 0o755 },
  'dir/sub/y': 'Y',
};

test('file → file path: parent created 0755, mode kept, owner 0:0', async () => {
  const { tree } = await run({ ctx: CTX, req: { sources: ['a.txt'], dest: '/opt/app/new.txt' } });
  assert.deepEqual(tree, ['opt d 755 0:0', 'opt/app d 755 0:0', 'opt/app/new.txt f 640 0:0 "A"']);
});

test('file → dir/ (trailing slash) lands as dir/NAME', async () => {
  const { tree } = await run({ ctx: CTX, req: { sources: ['a.txt'], dest: '/app/' } });
  assert.deepEqual(tree, ['app d 755 0:0', 'app/a.txt f 640 0:0 "A"']);
});

test('file → existing directory without slash lands inside it', async () => {
  const { tree } = await run({ ctx: CTX, destInit: { 'srv/': {} }, req: { sources: ['/b.txt'], dest: '/srv' } });
  assert.deepEqual(tree, ['srv d 755 0:0', 'srv/b.txt f 644 0:0 "B"']);
});

test('directory source copies its contents, not the directory; dest dir 0755 with the source mtime', async () => {
  const { tree, ctx, dest } = await run({ ctx: CTX, req: { sources: ['dir'], dest: '/d' } });
  assert.deepEqual(tree, ['d d 755 0:0', 'd/sub d 755 0:0', 'd/sub/y f 644 0:0 "Y"', 'd/x f 755 0:0 "X"']);
  assert.equal(Math.floor(statSync(`${dest}/d`).mtimeMs), Math.floor(statSync(`${ctx}/dir`).mtimeMs));
});

test('directory onto an existing directory merges; existing files stay', async () => {
  const { tree } = await run({ ctx: CTX, destInit: { 'd/keep': 'K', 'd/x': 'old' }, req: { sources: ['dir/'], dest: '/d/' } });
  assert.deepEqual(tree, ['d d 755 0:0', 'd/keep f 644 0:0 "K"', 'd/sub d 755 0:0', 'd/sub/y f 644 0:0 "Y"', 'd/x f 755 0:0 "X"']);
});

test('wildcard selects per path component (Go filepath.Match)', async () => {
  const { tree } = await run({ ctx: { ...CTX, 'dir/z.txt': 'Z' }, req: { sources: ['*.txt', 'd?r/*.txt'], dest: '/w/' } });
  assert.deepEqual(tree, ['w d 755 0:0', 'w/a.txt f 640 0:0 "A"', 'w/b.txt f 644 0:0 "B"', 'w/z.txt f 644 0:0 "Z"']);
});

test('wildcard matching a directory copies its contents', async () => {
  const { tree } = await run({ ctx: CTX, req: { sources: ['di*'], dest: '/w/' } });
  assert.deepEqual(tree, ['w d 755 0:0', 'w/sub d 755 0:0', 'w/sub/y f 644 0:0 "Y"', 'w/x f 755 0:0 "X"']);
});

test('wildcard matching nothing is not an error (BuildKit AllowEmptyWildcard) and creates nothing', async () => {
  const { tree } = await run({ ctx: CTX, req: { sources: ['*.none', 'b.txt'], dest: '/w/' } });
  assert.deepEqual(tree, ['w d 755 0:0', 'w/b.txt f 644 0:0 "B"']);
});

test('multiple sources into a directory', async () => {
  const { tree } = await run({ ctx: CTX, req: { sources: ['a.txt', 'c.md', 'dir/sub'], dest: '/m/' } });
  assert.deepEqual(tree, ['m d 755 0:0', 'm/a.txt f 640 0:0 "A"', 'm/c.md f 644 0:0 "C"', 'm/y f 644 0:0 "Y"']);
});

test('multiple files into a path without trailing slash → error', async () => {
  await fails({ ctx: CTX, req: { sources: ['a.txt', 'b.txt'], dest: '/m' } }, 'INVALID_FLAG', /more than one source file.*end with a \//);
  await fails({ ctx: CTX, req: { sources: ['*.txt'], dest: '/m' } }, 'INVALID_FLAG');
});

test('missing source → CONTEXT_PATH_NOT_FOUND "/missing": not found', async () => {
  const e = await fails({ ctx: CTX, req: { sources: ['missing'], dest: '/x/' } }, 'CONTEXT_PATH_NOT_FOUND');
  assert.equal(e.message, '"/missing": not found');
  assert.ok(e.details.hint);
  await fails({ ctx: CTX, req: { sources: ['a.txt/'], dest: '/x/' } }, 'CONTEXT_PATH_NOT_FOUND');
});

test('.dockerignore: an ignored source is not found; copying "." leaves ignored files out', async () => {
  const ignore = 'c.md\ndir\n!dir/sub\n';
  const e = await fails({ ctx: CTX, dockerignore: ignore, req: { sources: ['c.md'], dest: '/x/' } }, 'CONTEXT_PATH_NOT_FOUND', /"\/c\.md": not found/);
  assert.match(e.details.hint ?? '', /dockerignore/);
  await fails({ ctx: CTX, dockerignore: ignore, req: { sources: ['dir/x'], dest: '/x/' } }, 'CONTEXT_PATH_NOT_FOUND');
  const { tree } = await run({ ctx: CTX, dockerignore: ignore, req: { sources: ['.'], dest: '/all' } });
  assert.deepEqual(tree, [
    'all d 755 0:0', 'all/a.txt f 640 0:0 "A"', 'all/b.txt f 644 0:0 "B"', 'all/dir d 750 0:0', 'all/dir/sub d 755 0:0', 'all/dir/sub/y f 644 0:0 "Y"',
  ]);
  const star = await run({ ctx: CTX, dockerignore: '*\n!b.txt\n', req: { sources: ['*'], dest: '/s/' } });
  assert.deepEqual(star.tree, ['s d 755 0:0', 's/b.txt f 644 0:0 "B"']);
});

test('a source leaving the context → CONTEXT_PATH_OUTSIDE (via .. and via symlinks)', async () => {
  await fails({ ctx: CTX, req: { sources: ['../etc/passwd'], dest: '/x/' } }, 'CONTEXT_PATH_OUTSIDE');
  const ctx = { ...CTX, 'up': { link: '../../outside' }, 'abs': { link: '/etc/hostname' }, 'sub/in': { link: '../../x' } };
  await fails({ ctx, req: { sources: ['up'], dest: '/x/' } }, 'CONTEXT_PATH_OUTSIDE');
  await fails({ ctx, req: { sources: ['abs'], dest: '/x/' } }, 'CONTEXT_PATH_OUTSIDE', /points outside the build context/);
  await fails({ ctx, req: { sources: ['sub/in'], dest: '/x/' } }, 'CONTEXT_PATH_OUTSIDE');
  // `dir/../a.txt` stays inside: fine
  const { tree } = await run({ ctx: CTX, req: { sources: ['dir/../a.txt'], dest: '/x/' } });
  assert.deepEqual(tree, ['x d 755 0:0', 'x/a.txt f 640 0:0 "A"']);
});

test('symlinks: a top-level source link is followed (named by the link), links inside a directory are copied as links', async () => {
  const ctx: TreeSpec = { 'real.txt': 'R', 'ln': { link: 'real.txt' }, 'd/inner': { link: '../real.txt' }, 'd/abs': { link: '/nowhere' }, 'dl': { link: 'd' } };
  const { tree } = await run({ ctx, req: { sources: ['ln', 'dl'], dest: '/o/' } });
  assert.deepEqual(tree, ['o d 755 0:0', 'o/abs l 0:0 -> /nowhere', 'o/inner l 0:0 -> ../real.txt', 'o/ln f 644 0:0 "R"']);
});

test('--chown by name (passwd in destRoot) applies to copied files and created parents', async (t) => {
  if (!needRoot(t)) return;
  const destInit = { 'etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n', 'etc/group': 'root:x:0:\napp:x:1001:\nstaff:x:50:\n' };
  const { tree } = await run({ ctx: CTX, destInit, req: { sources: ['dir'], dest: '/home/app/d', chown: 'app' } });
  assert.deepEqual(tree.filter((l) => !l.startsWith('etc')), [
    'home d 755 1000:1001', 'home/app d 755 1000:1001', 'home/app/d d 755 1000:1001',
    'home/app/d/sub d 755 1000:1001', 'home/app/d/sub/y f 644 1000:1001 "Y"', 'home/app/d/x f 755 1000:1001 "X"',
  ]);
  const g = await run({ ctx: CTX, destInit, req: { sources: ['b.txt'], dest: '/b', chown: 'app:staff' } });
  assert.ok(g.tree.includes('b f 644 1000:50 "B"'), g.tree.join('\n'));
  const numeric = await run({ ctx: CTX, req: { sources: ['b.txt'], dest: '/b', chown: '1234' } });
  assert.deepEqual(numeric.tree, ['b f 644 1234:1234 "B"']);
  const both = await run({ ctx: CTX, destInit, req: { sources: ['b.txt'], dest: '/b', chown: '7:app' } });
  assert.ok(both.tree.includes('b f 644 7:1001 "B"'));
  // BuildKit: an unknown name resolves to 0 instead of failing
  const unknown = await run({ ctx: CTX, req: { sources: ['b.txt'], dest: '/b', chown: 'nobody:nogroup' } });
  assert.deepEqual(unknown.tree, ['b f 644 0:0 "B"']);
});

test('--chmod octal applies to what is copied; created parents stay 0755 (Docker 26)', async () => {
  const { tree } = await run({ ctx: CTX, req: { sources: ['dir'], dest: '/p/q', chmod: '0751' } });
  assert.deepEqual(tree, ['p d 755 0:0', 'p/q d 755 0:0', 'p/q/sub d 751 0:0', 'p/q/sub/y f 751 0:0 "Y"', 'p/q/x f 751 0:0 "X"']);
  const suid = await run({ ctx: CTX, req: { sources: ['b.txt'], dest: '/b', chmod: '4755' } });
  assert.deepEqual(suid.tree, ['b f 4755 0:0 "B"']);
  await fails({ ctx: CTX, req: { sources: ['b.txt'], dest: '/b', chmod: '8' } }, 'INVALID_FLAG');
  await fails({ ctx: CTX, req: { sources: ['b.txt'], dest: '/b', chmod: '17777' } }, 'INVALID_FLAG');
});

test('--chmod symbolic (u+x,g-w,o=r; X only for dirs and executables)', async () => {
  const ctx: TreeSpec = { 'd/': { mode: 0o770 }, 'd/f': { content: 'F', mode: 0o664 }, 'd/e': { content: 'E', mode: 0o744 } };
  const { tree } = await run({ ctx, req: { sources: ['d'], dest: '/s/', chmod: 'u+x,g-w,o=r' } });
  assert.deepEqual(tree, ['s d 755 0:0', 's/e f 744 0:0 "E"', 's/f f 744 0:0 "F"']);
  const x = await run({ ctx: { ...ctx, 'd/sub/': { mode: 0o700 } }, req: { sources: ['d'], dest: '/s/', chmod: 'go+rX' } });
  assert.deepEqual(x.tree, ['s d 755 0:0', 's/e f 755 0:0 "E"', 's/f f 664 0:0 "F"', 's/sub d 755 0:0']);
  await fails({ ctx, req: { sources: ['d'], dest: '/s/', chmod: 'q+z' } }, 'INVALID_FLAG');
});

test('--parents keeps the source path; /./ pivots; wildcards work', async () => {
  const ctx: TreeSpec = { 'a/b/c.txt': 'C', 'a/b/d.txt': 'D', 'a/e/c.txt': 'E', 'z.txt': 'Z' };
  const p = await run({ ctx, req: { sources: ['a/b/c.txt', 'z.txt'], dest: '/dst/', parents: true } });
  assert.deepEqual(p.tree, ['dst d 755 0:0', 'dst/a d 755 0:0', 'dst/a/b d 755 0:0', 'dst/a/b/c.txt f 644 0:0 "C"', 'dst/z.txt f 644 0:0 "Z"']);
  const pivot = await run({ ctx, req: { sources: ['a/./b/c.txt'], dest: '/dst/', parents: true } });
  assert.deepEqual(pivot.tree, ['dst d 755 0:0', 'dst/b d 755 0:0', 'dst/b/c.txt f 644 0:0 "C"']);
  const wild = await run({ ctx, req: { sources: ['a/*/c.txt'], dest: '/dst/', parents: true } });
  assert.deepEqual(wild.tree, ['dst d 755 0:0', 'dst/a d 755 0:0', 'dst/a/b d 755 0:0', 'dst/a/b/c.txt f 644 0:0 "C"', 'dst/a/e d 755 0:0', 'dst/a/e/c.txt f 644 0:0 "E"']);
  await fails({ ctx, req: { sources: ['a/nope.txt'], dest: '/dst/', parents: true } }, 'CONTEXT_PATH_NOT_FOUND');
});

test('--exclude patterns are relative to each source', async () => {
  const ctx: TreeSpec = { 'src/a.go': 'a', 'src/a_test.go': 't', 'src/doc/x.md': 'm', 'src/doc/keep.txt': 'k', 'src/vendor/v.go': 'v' };
  const { tree } = await run({ ctx, req: { sources: ['src'], dest: '/e', excludes: ['*_test.go', '**/*.md', 'vendor'] } });
  assert.deepEqual(tree, ['e d 755 0:0', 'e/a.go f 644 0:0 "a"', 'e/doc d 755 0:0', 'e/doc/keep.txt f 644 0:0 "k"']);
  const neg = await run({ ctx, req: { sources: ['src'], dest: '/e', excludes: ['doc', '!doc/keep.txt', '*.go'] } });
  // `*.go` is anchored at the source root like a .dockerignore line: vendor/v.go stays
  assert.deepEqual(neg.tree, ['e d 755 0:0', 'e/doc d 755 0:0', 'e/doc/keep.txt f 644 0:0 "k"', 'e/vendor d 755 0:0', 'e/vendor/v.go f 644 0:0 "v"']);
});

test('hardlinks within one source stay hardlinks', async () => {
  const dir = `${base}/hl-ctx`;
  makeTree(dir, { 'h/one': 'same', 'h/other': 'x' });
  linkSync(`${dir}/h/one`, `${dir}/h/two`);
  const dest = `${base}/hl-dest`;
  mkdirSync(dest);
  await executeCopy({ srcRoot: dir, srcKind: 'context', sources: ['h'], inline: [], dest: '/h/', destRoot: dest, parents: false, excludes: [], link: false });
  assert.equal(lstatSync(`${dest}/h/one`).ino, lstatSync(`${dest}/h/two`).ino);
  assert.notEqual(lstatSync(`${dest}/h/one`).ino, lstatSync(`${dest}/h/other`).ino);
  assert.equal(readFileSync(`${dest}/h/two`, 'utf8'), 'same');
});

test('mtimes are kept; xattrs from a stage/image and from the context (as BuildKit v0.13); special files are copied', async (t) => {
  const dir = `${base}/meta-ctx`;
  makeTree(dir, { 'm/f': { content: 'f', mtime: 1_000_000_000 } });
  xattr.setAttributeSync(`${dir}/m/f`, 'user.kiln', Buffer.from([0, 1, 2, 255]));
  execFileSync('mkfifo', [`${dir}/m/fifo`]);
  utimesSync(`${dir}/m`, 1_100_000_000, 1_100_000_000);
  const dest = `${base}/meta-dest`;
  mkdirSync(dest);
  await executeCopy({ srcRoot: dir, srcKind: 'context', sources: ['m'], inline: [], dest: '/m', destRoot: dest, parents: false, excludes: [], link: false });
  assert.equal(statSync(`${dest}/m/f`).mtimeMs, 1_000_000_000_000);
  assert.equal(statSync(`${dest}/m`).mtimeMs, 1_100_000_000_000);
  assert.deepEqual(xattr.getAttributeSync(`${dest}/m/f`, 'user.kiln'), Buffer.from([0, 1, 2, 255]), 'context files keep their xattrs (fsutil sends them)');
  const fromRootfs = `${base}/meta-dest-rootfs`;
  mkdirSync(fromRootfs);
  await executeCopy({ srcRoot: dir, srcKind: 'rootfs', sources: ['/m'], inline: [], dest: '/m', destRoot: fromRootfs, parents: false, excludes: [], link: false });
  assert.deepEqual(xattr.getAttributeSync(`${fromRootfs}/m/f`, 'user.kiln'), Buffer.from([0, 1, 2, 255]));
  assert.ok(lstatSync(`${dest}/m/fifo`).isFIFO());
  if (!needRoot(t)) return;
  execFileSync('mknod', [`${dir}/m/null`, 'c', '1', '3']);
  await executeCopy({ srcRoot: dir, srcKind: 'context', sources: ['m/null'], inline: [], dest: '/dev/', destRoot: dest, parents: false, excludes: [], link: false });
  assert.equal(statSync(`${dest}/dev/null`).rdev, statSync(`${dir}/m/null`).rdev);
});

test('heredoc (inline) files: dest/NAME, mode 0644, mtime SOURCE_DATE_EPOCH; a single one may name the file', async () => {
  const r = await run({ req: { sources: [], inline: [{ path: 'run.sh', data: 'echo hi\n' }, { path: 'b', data: 'B' }], dest: '/in/', sourceDateEpoch: 1_600_000_000 } });
  assert.deepEqual(r.tree, ['in d 755 0:0', 'in/b f 644 0:0 "B"', 'in/run.sh f 644 0:0 "echo hi\\n"']);
  assert.equal(statSync(`${r.dest}/in/run.sh`).mtimeMs, 1_600_000_000_000);
  const one = await run({ req: { sources: [], inline: [{ path: 'x', data: 'X' }], dest: '/etc/conf', chmod: '600' } });
  assert.deepEqual(one.tree, ['etc d 755 0:0', 'etc/conf f 600 0:0 "X"']);
});

test('overwrite rules: file replaces file and symlink; file onto dir and dir onto file fail', async () => {
  const destInit: TreeSpec = { 'o/a.txt': 'old', 'o/b.txt': { link: '/elsewhere' }, 'o/c.md/': {}, 'f': 'file' };
  const { tree } = await run({ ctx: CTX, destInit, req: { sources: ['a.txt', 'b.txt'], dest: '/o/' } });
  assert.deepEqual(tree, ['f f 644 0:0 "file"', 'o d 755 0:0', 'o/a.txt f 640 0:0 "A"', 'o/b.txt f 644 0:0 "B"', 'o/c.md d 755 0:0']);
  await fails({ ctx: CTX, destInit, req: { sources: ['c.md'], dest: '/o/' } }, 'IO', /cannot replace to directory \/o\/c\.md with file/);
  await fails({ ctx: CTX, destInit, req: { sources: ['dir'], dest: '/f' } }, 'IO', /cannot copy to non-directory: \/f/);
  await fails({ ctx: CTX, destInit, req: { sources: ['a.txt'], dest: '/f/x' } }, 'IO', /a file of that name exists/);
});

test('destination symlinks resolve inside destRoot', async () => {
  const destInit: TreeSpec = { 'real/': {}, 'app': { link: '/real' }, 'up': { link: '../../../../real' } };
  const { tree } = await run({ ctx: CTX, destInit, req: { sources: ['b.txt'], dest: '/app/' } });
  assert.deepEqual(tree, ['app l 0:0 -> /real', 'real d 755 0:0', 'real/b.txt f 644 0:0 "B"', 'up l 0:0 -> ../../../../real']);
  const up = await run({ ctx: CTX, destInit, req: { sources: ['a.txt'], dest: '/up/' } });
  assert.ok(up.tree.includes('real/a.txt f 640 0:0 "A"'), up.tree.join('\n'));
});

test('rootfs source: absolute paths, links resolve inside the root, ownership kept', async (t) => {
  const src = `${base}/rootfs-src`;
  makeTree(src, { 'usr/bin/tool': { content: 'T', mode: 0o755 }, 'bin': { link: '/usr/bin' }, 'etc/conf': 'C', 'etc/abs': { link: '/etc/conf' } });
  const dest = `${base}/rootfs-dest`;
  mkdirSync(dest);
  if (process.getuid?.() === 0) chownSync(`${src}/etc/conf`, 33, 44);
  const req: CopyRequest = { srcRoot: src, srcKind: 'rootfs', sources: ['/bin/tool', '/etc/abs', '/etc'], inline: [], dest: '/out/', destRoot: dest, parents: false, excludes: [], link: false };
  await executeCopy(req);
  const tree = describeTree(dest);
  assert.deepEqual(tree.filter((l) => !l.startsWith('out/conf')), ['out d 755 0:0', 'out/abs l 0:0 -> /etc/conf', 'out/tool f 755 0:0 "T"']);
  if (!needRoot(t)) return;
  assert.ok(tree.includes('out/conf f 644 33:44 "C"'), tree.join('\n'));
  await assert.rejects(executeCopy({ ...req, sources: ['/nope'] }), (e: unknown) => e instanceof KilnError && e.code === 'CONTEXT_PATH_NOT_FOUND');
  // `..` stops at the root like in a chroot
  await executeCopy({ ...req, sources: ['/../../etc/conf'], dest: '/clamped' });
  assert.equal(readFileSync(`${dest}/clamped`, 'utf8'), 'C');
});

test('abort signal stops the copy', async () => {
  const ac = new AbortController();
  ac.abort();
  const dir = `${base}/abort`;
  mkdirSync(dir);
  writeFileSync(`${dir}/f`, 'x');
  await assert.rejects(
    executeCopy({ srcRoot: dir, srcKind: 'context', sources: ['f'], inline: [], dest: '/g', destRoot: dir, parents: false, excludes: [], link: false }, ac.signal),
    (e: unknown) => e instanceof KilnError && e.code === 'ABORTED',
  );
  assert.throws(() => lstatSync(`${dir}/g`));
});

test('dest "/" : a file lands at /NAME, a directory merges into the root', async () => {
  const f = await run({ ctx: CTX, req: { sources: ['b.txt'], dest: '/' } });
  assert.deepEqual(f.tree, ['b.txt f 644 0:0 "B"']);
  const d = await run({ ctx: CTX, destInit: { 'sub/old': 'o' }, req: { sources: ['dir'], dest: '/' } });
  assert.deepEqual(d.tree, ['sub d 755 0:0', 'sub/old f 644 0:0 "o"', 'sub/y f 644 0:0 "Y"', 'x f 755 0:0 "X"']);
});

test('--parents with a directory source keeps its path and copies it whole', async () => {
  const ctx: TreeSpec = { 'a/b/c.txt': 'C', 'a/b/deep/d': 'D', 'a/other': 'O' };
  const { tree } = await run({ ctx, req: { sources: ['a/b'], dest: '/dst/', parents: true } });
  assert.deepEqual(tree, ['dst d 755 0:0', 'dst/a d 755 0:0', 'dst/a/b d 755 0:0', 'dst/a/b/c.txt f 644 0:0 "C"', 'dst/a/b/deep d 755 0:0', 'dst/a/b/deep/d f 644 0:0 "D"']);
});

test('--exclude with a wildcard source applies inside each matched directory', async () => {
  const ctx: TreeSpec = { 'dir1/a.png': '1', 'dir1/b.txt': '2', 'dir2/c.png': '3', 'dir2/d.pdf': '4', 'top.png': 'T' };
  const { tree } = await run({ ctx, req: { sources: ['dir*', 'top.png'], dest: '/out/', excludes: ['*.png'] } });
  // the excluded pattern filters what is inside a source; a file named as a source is copied (fsutil)
  assert.deepEqual(tree, ['out d 755 0:0', 'out/b.txt f 644 0:0 "2"', 'out/d.pdf f 644 0:0 "4"', 'out/top.png f 644 0:0 "T"']);
  const all = await run({ ctx, req: { sources: ['dir*'], dest: '/six', excludes: ['*'] } });
  assert.deepEqual(all.tree, ['six d 755 0:0']);
});

test('an existing destination directory keeps its owner and mode; children get the source metadata', async (t) => {
  if (!needRoot(t)) return;
  const dir = `${base}/keep`;
  makeTree(`${dir}/ctx`, { 'd/': { mode: 0o700 }, 'd/sub/': { mode: 0o750 }, 'd/sub/f': 'F' });
  makeTree(`${dir}/rootfs`, { 'app/': { mode: 0o775 }, 'app/sub/': { mode: 0o777 } });
  chownSync(`${dir}/rootfs/app`, 1000, 1000);
  await executeCopy({ srcRoot: `${dir}/ctx`, srcKind: 'context', sources: ['d'], inline: [], dest: '/app', destRoot: `${dir}/rootfs`, parents: false, excludes: [], link: false });
  assert.deepEqual(describeTree(`${dir}/rootfs`), ['app d 775 1000:1000', 'app/sub d 750 0:0', 'app/sub/f f 644 0:0 "F"']);
});

test('owners stay exact where a copied file would inherit another group: a setgid destination dir, setuid files', async (t) => {
  if (!needRoot(t)) return;
  // the destination dir is setgid and group 1234: a new file in it gets group 1234, but a context
  // file must end up 0:0 (and a --chown'd one exactly as asked), whatever the copy skips
  const dir = `${base}/${++n}`;
  makeTree(`${dir}/ctx`, { 'a.txt': 'A', 's.bin': { content: 'S', mode: 0o4755 }, 'g/': { mode: 0o2775 }, 'g/in.txt': 'I' });
  makeTree(`${dir}/rootfs`, { 'shared/g/': { mode: 0o2775 } });
  makeTree(`${dir}/rootfs`, { 'shared/': { mode: 0o2775 } });
  chownSync(`${dir}/rootfs/shared`, 0, 1234);
  const req = (sources: string[], dest: string, extra: Partial<CopyRequest> = {}): CopyRequest => ({
    srcRoot: `${dir}/ctx`, srcKind: 'context', inline: [], destRoot: `${dir}/rootfs`, parents: false, excludes: [], link: false, sources, dest, ...extra,
  });
  await executeCopy(req(['a.txt', 's.bin'], '/shared/'));
  await executeCopy(req(['s.bin'], '/shared/owned.bin', { chown: '5:1234' }));
  chownSync(`${dir}/rootfs/shared/g`, 0, 1234);
  // a directory merged into an existing setgid one: its files are created there, then owned 0:0
  await executeCopy(req(['g'], '/shared/g'));
  assert.deepEqual(describeTree(`${dir}/rootfs`), [
    'shared d 2775 0:1234',
    'shared/a.txt f 644 0:0 "A"',
    'shared/g d 2775 0:1234',
    'shared/g/in.txt f 644 0:0 "I"',
    'shared/owned.bin f 4755 5:1234 "S"',
    'shared/s.bin f 4755 0:0 "S"',
  ]);
});
