// applyLayer's 'untar' mode (ADD's archive extraction, moby's chrootarchive.Untar): what differs
// from applying a layer, on a real filesystem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { KilnError } from '../errors.js';
import { needRoot } from '../../test/helpers/prereq.js';
import { applyLayer, type ApplyOptions } from './apply.js';
import { TAR_END, encodeEntry, type TarHeader } from './tar-format.js';

type H = Partial<TarHeader> & { name: string };
const ent = (h: H, body?: string): Buffer =>
  encodeEntry({ type: 'file', mode: 0o644, uid: 0, gid: 0, size: body?.length ?? 0, mtime: 1600000000, ...h }, body === undefined ? undefined : Buffer.from(body));
const tar = (...parts: Buffer[]): Buffer[] => [Buffer.concat([...parts, TAR_END])];
const UNTAR: ApplyOptions = { untar: { problem: (why) => new KilnError('ARCHIVE_INVALID', `cannot extract "a.tar": ${why}`) } };

function scratch(): { dir: string; root: string } {
  const dir = mkdtempSync(`${tmpdir()}/kiln-untar-`);
  mkdirSync(`${dir}/root`);
  return { dir, root: `${dir}/root` };
}

const isArchiveError = (message: string) => (e: unknown): boolean => e instanceof KilnError && e.code === 'ARCHIVE_INVALID' && e.message === message;

test('untar: whiteout names are plain files and delete nothing', async () => {
  const { dir, root } = scratch();
  try {
    mkdirSync(`${root}/d`);
    writeFileSync(`${root}/d/gone`, 'lower');
    writeFileSync(`${root}/d/old`, 'lower');
    await applyLayer(tar(ent({ name: 'd/.wh.gone' }, 'w'), ent({ name: 'd/.wh..wh..opq' }, ''), ent({ name: 'd/new' }, 'n')), root, UNTAR);
    assert.equal(readFileSync(`${root}/d/.wh.gone`, 'utf8'), 'w');
    assert.equal(readFileSync(`${root}/d/.wh..wh..opq`, 'utf8'), '');
    assert.equal(readFileSync(`${root}/d/gone`, 'utf8'), 'lower');
    assert.equal(readFileSync(`${root}/d/old`, 'utf8'), 'lower');
    assert.equal(readFileSync(`${root}/d/new`, 'utf8'), 'n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("untar: the root is a chroot: '..' through an existing symlink stops at it (a layer refuses it)", async () => {
  const { dir, root } = scratch();
  try {
    symlinkSync('../../..', `${root}/up`);
    await applyLayer(tar(ent({ name: 'up/f' }, 'in')), root, UNTAR);
    assert.equal(readFileSync(`${root}/f`, 'utf8'), 'in');
    await assert.rejects(applyLayer(tar(ent({ name: 'up/g' }, 'x')), root), (e: unknown) => e instanceof KilnError && e.code === 'LAYER_UNSAFE');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('untar: escaping names and climbing relative symlinks are refused through problem(); absolute symlinks are kept', async () => {
  const { dir, root } = scratch();
  try {
    await assert.rejects(applyLayer(tar(ent({ name: '../x' }, 'x')), root, UNTAR), isArchiveError('cannot extract "a.tar": entry "../x" points outside the destination'));
    const climb = tar(ent({ name: 'd/up', type: 'symlink', linkname: '../../out' }));
    await assert.rejects(applyLayer(climb, root, UNTAR), isArchiveError('cannot extract "a.tar": symlink "d/up" points outside the destination'));
    await applyLayer(climb, `${dir}/root`); // a layer's symlinks may point anywhere: they resolve inside the root
    await applyLayer(tar(ent({ name: 'abs', type: 'symlink', linkname: '/etc/passwd' })), root, UNTAR);
    assert.equal(readlinkSync(`${root}/abs`), '/etc/passwd');
    await assert.rejects(applyLayer(tar(ent({ name: 'h', type: 'link', linkname: 'missing' })), root, UNTAR), isArchiveError('cannot extract "a.tar": hardlink "h" points at "missing", which is not a file in the archive'));
    writeFileSync(`${root}/file`, 'f');
    await assert.rejects(applyLayer(tar(ent({ name: 'file/below' }, 'x')), root, UNTAR), isArchiveError('cannot extract "a.tar": file is not a directory'));
    const bad = Buffer.concat([ent({ name: 'f' }, 'x')]);
    bad.write('zz', 148, 'latin1'); // broken header checksum
    await assert.rejects(applyLayer([bad], root, UNTAR), (e: unknown) => e instanceof KilnError && e.code === 'ARCHIVE_INVALID');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('untar: implied parents are 0755 whatever the umask; a hardlink takes its header mode, never through a symlink; atime is never before mtime', async () => {
  const { dir, root } = scratch();
  const umask = process.umask(0o077);
  try {
    writeFileSync(`${dir}/outside`, 'host');
    chmodSync(`${dir}/outside`, 0o600);
    await applyLayer(
      tar(
        ent({ name: 'a/b/f', mode: 0o600, atime: 1000 }, 'f'),
        ent({ name: 'a/b/h', type: 'link', linkname: 'a/b/f', mode: 0o640 }),
        ent({ name: 's', type: 'symlink', linkname: `${dir}/outside` }),
        ent({ name: 'hs', type: 'link', linkname: 's', mode: 0o777 }),
      ),
      root,
      UNTAR,
    );
    assert.equal(statSync(`${root}/a`).mode & 0o7777, 0o755);
    assert.equal(statSync(`${root}/a/b`).mode & 0o7777, 0o755);
    assert.equal(statSync(`${root}/a/b/f`).ino, statSync(`${root}/a/b/h`).ino);
    assert.equal(statSync(`${root}/a/b/f`).mode & 0o7777, 0o640, 'the hardlink header mode applies to the shared inode');
    assert.equal(statSync(`${dir}/outside`).mode & 0o7777, 0o600, 'a hardlinked symlink is not followed');
    assert.ok(lstatSync(`${root}/hs`).isSymbolicLink());
    assert.equal(statSync(`${root}/a/b/f`).atimeMs, 1600000000_000);
  } finally {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('untar: entries keep the archive owner; implied parents are root-owned', async (t) => {
  if (!needRoot(t)) return;
  const { dir, root } = scratch();
  try {
    await applyLayer(tar(ent({ name: 'p/q/f', uid: 3, gid: 4 }, 'x'), ent({ name: 'l', type: 'link', linkname: 'p/q/f', uid: 5, gid: 6 })), root, UNTAR);
    assert.deepEqual([statSync(`${root}/p`).uid, statSync(`${root}/p/q`).gid], [0, 0]);
    assert.deepEqual([statSync(`${root}/p/q/f`).uid, statSync(`${root}/p/q/f`).gid], [5, 6], 'the hardlink header owner applies to the shared inode');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
