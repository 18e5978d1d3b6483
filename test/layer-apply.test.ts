// applyLayer semantics on a real filesystem: OCI whiteouts and opaque directories, replacing
// existing paths of another type, overlay-style whiteouts, and writeChanges → applyLayer
// reproducing a modified tree on top of its lower tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as xattr from 'fs-xattr';
import { TAR_END, applyLayer, encodeEntry, readTar, writeChanges, type Change, type TarHeader } from '../src/layer/index.js';
import { needRoot } from './helpers/prereq.js';
import { describeTree, makeFixtureTree } from './helpers/layer-tree.js';

type H = Partial<TarHeader> & { name: string };
const ent = (h: H, body?: string): Buffer =>
  encodeEntry({ type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1600000000, ...h }, body === undefined ? undefined : Buffer.from(body));
const tar = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, TAR_END]);

function lowerTree(root: string): void {
  mkdirSync(`${root}/etc/conf.d`, { recursive: true });
  writeFileSync(`${root}/etc/passwd`, 'root:x:0:0\n');
  writeFileSync(`${root}/etc/conf.d/a`, 'a');
  writeFileSync(`${root}/etc/conf.d/b`, 'b');
  mkdirSync(`${root}/opq/keep-me-not/deep`, { recursive: true });
  writeFileSync(`${root}/opq/old`, 'old');
  writeFileSync(`${root}/opq/keep-me-not/deep/x`, 'x');
  mkdirSync(`${root}/dir-to-file/sub`, { recursive: true });
  writeFileSync(`${root}/dir-to-file/sub/f`, 'f');
  writeFileSync(`${root}/file-to-dir`, 'f');
  symlinkSync('etc', `${root}/link-to-dir`);
  writeFileSync(`${root}/gone`, 'gone');
}

function scratch(): string {
  return mkdtempSync(`${tmpdir()}/kiln-layer-apply-`);
}

test('OCI whiteouts delete lower files and trees; opaque dirs keep only what the layer adds', async () => {
  const dir = scratch();
  try {
    const root = `${dir}/root`;
    mkdirSync(root);
    lowerTree(root);
    await applyLayer(
      [
        tar(
          ent({ name: '.wh.gone' }),
          ent({ name: 'etc/conf.d/.wh.a' }),
          ent({ name: 'etc/.wh.nonexistent' }), // nothing to hide: fine
          ent({ name: 'opq/', type: 'dir', mode: 0o750 }),
          ent({ name: 'opq/-added-before-marker' }, 'new'), // sorts before .wh..wh..opq in byte order
          ent({ name: 'opq/.wh..wh..opq' }),
          ent({ name: 'opq/new' }, 'new'),
          ent({ name: 'same-layer' }, 'mine'),
          ent({ name: '.wh.same-layer' }), // whiteouts only hide lower layers (OCI)
        ),
      ],
      root,
    );
    assert.ok(!existsSync(`${root}/gone`));
    assert.ok(!existsSync(`${root}/etc/conf.d/a`));
    assert.equal(readFileSync(`${root}/etc/conf.d/b`, 'utf8'), 'b');
    assert.deepEqual(readdirSync(`${root}/opq`).sort(), ['-added-before-marker', 'new']);
    assert.equal(lstatSync(`${root}/opq`).mode & 0o7777, 0o750);
    assert.equal(readFileSync(`${root}/same-layer`, 'utf8'), 'mine');
    assert.ok(!readdirSync(root).some((n) => n.startsWith('.wh.')));
    // a whiteout of a whole directory removes the tree
    await applyLayer([tar(ent({ name: '.wh.etc' }))], root);
    assert.ok(!existsSync(`${root}/etc`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('entries replace existing paths of another type; directories merge', async () => {
  const dir = scratch();
  try {
    const root = `${dir}/root`;
    mkdirSync(root);
    lowerTree(root);
    await applyLayer(
      [
        tar(
          ent({ name: 'dir-to-file' }, 'now a file'),
          ent({ name: 'file-to-dir/', type: 'dir', mode: 0o700 }),
          ent({ name: 'file-to-dir/inner' }, 'inner'),
          ent({ name: 'link-to-dir', type: 'dir', mode: 0o755 }), // replaces the symlink; etc/ untouched
          ent({ name: 'etc/passwd', type: 'symlink', linkname: '/dev/null' }),
          ent({ name: 'etc/', type: 'dir', mode: 0o711, mtime: 1234567890 }), // merge: keeps children
        ),
      ],
      root,
    );
    assert.equal(readFileSync(`${root}/dir-to-file`, 'utf8'), 'now a file');
    assert.ok(lstatSync(`${root}/file-to-dir`).isDirectory());
    assert.equal(lstatSync(`${root}/file-to-dir`).mode & 0o777, 0o700);
    assert.equal(readFileSync(`${root}/file-to-dir/inner`, 'utf8'), 'inner');
    assert.ok(lstatSync(`${root}/link-to-dir`).isDirectory());
    assert.deepEqual(readdirSync(`${root}/link-to-dir`), []);
    assert.equal(readlinkSync(`${root}/etc/passwd`), '/dev/null');
    assert.equal(readFileSync(`${root}/etc/conf.d/a`, 'utf8'), 'a');
    assert.equal(lstatSync(`${root}/etc`).mode & 0o777, 0o711);
    assert.equal(lstatSync(`${root}/etc`).mtimeMs, 1234567890000); // set after its children were written

    // hardlinks: one replacing an existing file, then a file replacing one name of the pair
    await applyLayer([tar(ent({ name: 'etc/conf.d/b', type: 'link', linkname: 'etc/conf.d/a' }))], root);
    assert.equal(lstatSync(`${root}/etc/conf.d/b`).ino, lstatSync(`${root}/etc/conf.d/a`).ino);
    await applyLayer([tar(ent({ name: 'etc/conf.d/b' }, 'own content'))], root);
    assert.equal(readFileSync(`${root}/etc/conf.d/a`, 'utf8'), 'a'); // the other name is untouched
    assert.equal(readFileSync(`${root}/etc/conf.d/b`, 'utf8'), 'own content');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('overlay whiteout mode writes char 0/0 devices and trusted.overlay.opaque, deleting nothing', async (t) => {
  if (!needRoot(t)) return;
  const dir = scratch();
  try {
    const root = `${dir}/upper`;
    mkdirSync(root);
    mkdirSync(`${root}/opq`);
    writeFileSync(`${root}/opq/already`, 'kept');
    await applyLayer(
      [tar(ent({ name: 'a/.wh.b' }), ent({ name: 'opq/.wh..wh..opq' }), ent({ name: 'opq/new' }, 'n'), ent({ name: 'mine' }, 'm'), ent({ name: '.wh.mine' }))],
      root,
      { whiteouts: 'overlay' },
    );
    assert.equal(readFileSync(`${root}/mine`, 'utf8'), 'm'); // a whiteout never hides its own layer's entry
    const st = lstatSync(`${root}/a/b`);
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, 0);
    assert.equal(xattr.getAttributeSync(`${root}/opq`, 'trusted.overlay.opaque').toString(), 'y');
    assert.equal(readFileSync(`${root}/opq/already`, 'utf8'), 'kept');
    assert.equal(readFileSync(`${root}/opq/new`, 'utf8'), 'n');
    // a layer cannot set overlay xattrs itself
    await applyLayer([tar(ent({ name: 'sneaky/', type: 'dir', xattrs: new Map([['trusted.overlay.redirect', Buffer.from('/etc')]]) }))], root);
    assert.throws(() => xattr.getAttributeSync(`${root}/sneaky`, 'trusted.overlay.redirect'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeChanges → applyLayer on the lower tree reproduces the upper tree exactly', async (t) => {
  if (!needRoot(t)) return;
  const dir = scratch();
  try {
    const lower = `${dir}/lower`;
    mkdirSync(lower);
    makeFixtureTree(lower);
    lowerTree(lower);
    const upper = `${dir}/upper`;
    execFileSync('cp', ['-a', lower, upper]);
    // the "container" changes things
    writeFileSync(`${upper}/etc/passwd`, 'root:x:0:0\nkiln:x:1000:1000\n');
    rmSync(`${upper}/etc/conf.d`, { recursive: true });
    unlinkSync(`${upper}/gone`);
    rmSync(`${upper}/opq`, { recursive: true });
    mkdirSync(`${upper}/opq`);
    writeFileSync(`${upper}/opq/fresh`, 'fresh');
    mkdirSync(`${upper}/new-dir/sub`, { recursive: true });
    writeFileSync(`${upper}/new-dir/sub/file`, 'new');
    const changes: Change[] = [
      { kind: 'modify', path: 'etc' },
      { kind: 'modify', path: 'etc/passwd' },
      { kind: 'delete', path: 'etc/conf.d' },
      { kind: 'delete', path: 'gone' },
      { kind: 'modify', path: 'opq', opaque: true },
      { kind: 'add', path: 'opq/fresh' },
      { kind: 'add', path: 'new-dir/sub/file' },
      { kind: 'add', path: 'new-dir' },
      { kind: 'add', path: 'new-dir/sub' },
    ];
    const layerBytes: Buffer[] = [];
    for await (const c of writeChanges(upper, changes)) layerBytes.push(c as Buffer);
    const names: string[] = [];
    for await (const e of readTar(layerBytes)) names.push(e.header.name);
    assert.deepEqual(names, [
      'etc/', 'etc/.wh.conf.d', 'etc/passwd', '.wh.gone', 'new-dir/', 'new-dir/sub/', 'new-dir/sub/file', 'opq/', 'opq/.wh..wh..opq', 'opq/fresh',
    ]);
    // same changes in another order: same bytes
    const again: Buffer[] = [];
    for await (const c of writeChanges(upper, [...changes].reverse())) again.push(c as Buffer);
    assert.ok(Buffer.concat(again).equals(Buffer.concat(layerBytes)));

    const target = `${dir}/target`;
    execFileSync('cp', ['-a', lower, target]);
    await applyLayer(layerBytes, target);
    assert.deepEqual(describeTree(target).slice(1), describeTree(upper).slice(1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
