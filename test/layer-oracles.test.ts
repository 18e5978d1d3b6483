// The tar codec checked against real tools: GNU tar 1.34 and Python's tarfile read what
// writeTree produces, and our reader/applier read what GNU tar produces (PAX with xattrs, GNU).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { applyLayer, readTar, readBody, writeTree, type TarHeader } from '../src/layer/index.js';
import { needCommand, needRoot } from './helpers/prereq.js';
import { CAP_VALUE, LONG_DIR, MTIME_2100, describeTree, makeFixtureTree } from './helpers/layer-tree.js';

function scratch(): string {
  return mkdtempSync(`${tmpdir()}/kiln-layer-oracle-`);
}

async function tarOf(dir: string, file: string, opts: Parameters<typeof writeTree>[1] = {}): Promise<Buffer> {
  await pipeline(writeTree(dir, opts), createWriteStream(file));
  return readFileSync(file);
}

async function headers(buf: Buffer): Promise<Map<string, TarHeader & { data: Buffer }>> {
  const out = new Map<string, TarHeader & { data: Buffer }>();
  for await (const e of readTar([buf])) out.set(e.header.name.replace(/^\.\//, '').replace(/\/$/, ''), { ...e.header, data: await readBody(e.body) });
  return out;
}

const PY_LIST = `
import sys, tarfile, json
out = []
for m in tarfile.open(sys.argv[1]):
    x = {k[len('SCHILY.xattr.'):]: v.encode('utf-8', 'surrogateescape').hex() for k, v in m.pax_headers.items() if k.startswith('SCHILY.xattr.')}
    out.append(dict(name=m.name, type=m.type.decode(), mode=m.mode, uid=m.uid, gid=m.gid, size=m.size, mtime=m.mtime,
                    linkname=m.linkname, devmajor=m.devmajor, devminor=m.devminor, uname=m.uname, gname=m.gname, xattrs=x))
print(json.dumps(out))
`;

test('writeTree output is read identically by python tarfile and GNU tar, and GNU tar extracts it exactly', async (t) => {
  if (!needRoot(t) || !needCommand(t, 'tar') || !needCommand(t, 'python3')) return;
  const dir = scratch();
  try {
    const src = `${dir}/src`;
    mkdirSync(src);
    makeFixtureTree(src);
    const buf = await tarOf(src, `${dir}/layer.tar`);

    // python tarfile
    const py = JSON.parse(execFileSync('python3', ['-c', PY_LIST, `${dir}/layer.tar`], { encoding: 'utf8' })) as Array<Record<string, unknown>>;
    const by = new Map(py.map((m) => [m['name'] as string, m]));
    const tool = by.get('bin/tool')!;
    assert.equal(tool['uid'], 3000000);
    assert.equal(tool['gid'], 3000001);
    assert.equal(tool['mtime'], MTIME_2100);
    assert.equal(tool['mode'], 0o4755);
    assert.equal(tool['size'], 70_000);
    assert.equal(tool['uname'], '');
    assert.deepEqual(tool['xattrs'], { 'security.capability': CAP_VALUE.toString('hex'), 'user.comment': 'ff00800a3d' });
    assert.equal(by.get('bin/tool-hardlink')!['type'], '1');
    assert.equal(by.get('bin/tool-hardlink')!['linkname'], 'bin/tool');
    assert.equal(by.get('bin/long-link')!['linkname'], `../${'t'.repeat(150)}`);
    assert.equal(by.get('bin/abs-link')!['linkname'], '/etc/passwd');
    assert.deepEqual([by.get('dev/null')!['type'], by.get('dev/null')!['devmajor'], by.get('dev/null')!['devminor']], ['3', 1, 3]);
    assert.deepEqual([by.get('dev/sda1')!['type'], by.get('dev/sda1')!['devmajor'], by.get('dev/sda1')!['devminor']], ['4', 8, 1]);
    assert.deepEqual([by.get('dev/big')!['devmajor'], by.get('dev/big')!['devminor']], [300, 70000]);
    assert.equal(by.get('dev/fifo')!['type'], '6');
    assert.equal(by.get('tmp')!['mode'], 0o1777);
    assert.equal(by.get('tmp/subsec')!['mtime'], 1700000000); // truncated to seconds by default
    assert.ok(by.has(`${LONG_DIR}/file-with-a-long-path.txt`));
    assert.ok(by.has('tmp/ünïcödé 名前.txt'));
    // sorted, depth-first, parents first
    const names = py.map((m) => m['name'] as string);
    assert.deepEqual(names.slice(0, 5), ['bin', 'bin/abs-link', 'bin/empty', 'bin/long-link', 'bin/rel-link']);

    // GNU tar listing
    const list = execFileSync('tar', ['-tvv', '--xattrs', '--xattrs-include=*', '--numeric-owner', '-f', `${dir}/layer.tar`], { encoding: 'utf8' });
    assert.match(list, /-rwsr-xr-x\* 3000000\/3000001 +70000 2100-01-01 00:00 bin\/tool\n/);
    assert.match(list, /x: +20 security\.capability/);
    assert.match(list, /crw-r--r-- +0\/0 +1,3 .* dev\/null/);
    assert.match(list, /hrwsr-xr-x\* .* bin\/tool-hardlink link to bin\/tool/);
    assert.doesNotMatch(list, /warning/i);

    // GNU tar extracts it into the same tree
    const out = `${dir}/gnu-out`;
    mkdirSync(out);
    execFileSync('tar', ['-xpf', `${dir}/layer.tar`, '--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', out]);
    assert.deepEqual(describeTree(out).slice(1), describeTree(src).slice(1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeTree is deterministic: same tree (even copied elsewhere) gives the same bytes', async (t) => {
  if (!needRoot(t) || !needCommand(t, 'cp')) return;
  const dir = scratch();
  try {
    mkdirSync(`${dir}/a`);
    makeFixtureTree(`${dir}/a`);
    execFileSync('cp', ['-a', `${dir}/a`, `${dir}/b`]); // new inodes, new atimes/ctimes
    const one = await tarOf(`${dir}/a`, `${dir}/1.tar`);
    const two = await tarOf(`${dir}/a`, `${dir}/2.tar`);
    const three = await tarOf(`${dir}/b`, `${dir}/3.tar`);
    assert.ok(one.equals(two));
    assert.ok(one.equals(three));
    // SOURCE_DATE_EPOCH clamps mtimes, leaves older ones alone
    const clamped = await headers(await tarOf(`${dir}/a`, `${dir}/4.tar`, { sourceDateEpoch: 1650000000 }));
    assert.equal(clamped.get('bin/tool')!.mtime, 1650000000);
    assert.equal(clamped.get('bin')!.mtime, 1600000000);
    // sub-second mtimes on request, via a PAX record python and GNU tar understand
    const sub = await headers(await tarOf(`${dir}/a`, `${dir}/5.tar`, { subsecondMtimes: true }));
    assert.deepEqual([sub.get('tmp/subsec')!.mtime, sub.get('tmp/subsec')!.mtimeNsec], [1700000000, 500000000]);
    const py = execFileSync('python3', ['-c', 'import sys,tarfile; print(repr(tarfile.open(sys.argv[1]).getmember("tmp/subsec").mtime))', `${dir}/5.tar`], { encoding: 'utf8' });
    assert.equal(py.trim(), '1700000000.5');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GNU tar --format=pax --xattrs archives: our reader and applier reproduce the tree', async (t) => {
  if (!needRoot(t) || !needCommand(t, 'tar')) return;
  const dir = scratch();
  try {
    const src = `${dir}/src`;
    mkdirSync(src);
    makeFixtureTree(src);
    execFileSync('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', src, '-cf', `${dir}/gnu.tar`, '.']);
    const h = await headers(readFileSync(`${dir}/gnu.tar`));
    // GNU tar archives in readdir order: either name may carry the data, the other is the link
    const pair = [h.get('bin/tool')!, h.get('bin/tool-hardlink')!];
    const tool = pair.find((e) => e.type === 'file')!;
    assert.equal(pair.find((e) => e.type === 'link')?.linkname, tool.name);
    assert.equal(tool.uid, 3000000);
    assert.equal(tool.mtime, MTIME_2100);
    assert.ok(tool.xattrs!.get('security.capability')!.equals(CAP_VALUE), 'binary xattr is byte-exact');
    assert.ok(tool.xattrs!.get('user.comment')!.equals(Buffer.from([0xff, 0x00, 0x80, 0x0a, 0x3d])));
    assert.equal(tool.data.length, 70_000);
    assert.equal(h.get('dev/big')!.devminor, 70000);
    assert.equal(h.get(`${LONG_DIR}/file-with-a-long-path.txt`)!.data.toString(), 'long\n');
    assert.equal(h.get('tmp/subsec')!.mtimeNsec, 500000000); // GNU tar writes PAX mtime with fraction

    const out = `${dir}/out`;
    mkdirSync(out);
    await applyLayer([readFileSync(`${dir}/gnu.tar`)], out);
    assert.deepEqual(describeTree(out).slice(1), describeTree(src).slice(1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GNU tar --format=gnu archives (L/K long names, base-256 ids) read and apply exactly', async (t) => {
  if (!needRoot(t) || !needCommand(t, 'tar')) return;
  const dir = scratch();
  try {
    const src = `${dir}/src`;
    mkdirSync(src);
    makeFixtureTree(src);
    execFileSync('tar', ['--format=gnu', '--numeric-owner', '-C', src, '-cf', `${dir}/gnu.tar`, '.']);
    const raw = readFileSync(`${dir}/gnu.tar`);
    assert.ok(raw.includes(Buffer.from('././@LongLink')), 'fixture really uses GNU long names');
    const h = await headers(raw);
    assert.equal(h.get('bin/tool')!.uid, 3000000); // base-256 in the uid field
    assert.equal(h.get('bin/tool-hardlink')!.gid, 3000001);
    assert.equal(h.get('bin/long-link')!.linkname, `../${'t'.repeat(150)}`); // 'K'
    assert.equal(h.get(`${LONG_DIR}/file-with-a-long-path.txt`)!.data.toString(), 'long\n'); // 'L'
    const out = `${dir}/out`;
    mkdirSync(out);
    await applyLayer([raw], out, { xattrs: false });
    const strip = (lines: string[]) => lines.slice(1).map((l) => l.replace(/ x:\S+/g, ''));
    assert.deepEqual(strip(describeTree(out)), strip(describeTree(src)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('applyLayer(writeTree(x)) reproduces x exactly, including xattrs, devices and hardlinks', async (t) => {
  if (!needRoot(t)) return;
  const dir = scratch();
  try {
    const src = `${dir}/src`;
    mkdirSync(src);
    makeFixtureTree(src);
    const out = `${dir}/out`;
    mkdirSync(out);
    const r = await applyLayer(writeTree(src, { subsecondMtimes: true }), out);
    assert.ok(r.entries > 15);
    assert.deepEqual(describeTree(out), describeTree(src));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
