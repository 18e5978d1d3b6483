import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lstatMany, lutimesNs, nativeLoadError, nativeSys, PackedStat, type FileStat } from './index.js';

const FIELDS = ['mode', 'uid', 'gid', 'nlink', 'size', 'rdev', 'dev', 'ino', 'atimeNs', 'mtimeNs', 'ctimeNs'] as const;
const TYPES = ['isFile', 'isDirectory', 'isSymbolicLink', 'isFIFO', 'isCharacterDevice', 'isBlockDevice', 'isSocket'] as const;

function view(st: FileStat): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of FIELDS) o[f] = st[f];
  for (const t of TYPES) o[t] = st[t]();
  return o;
}

test('lstatMany agrees with lstatSync({bigint}) on every field and file type, both ways', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-stat-'));
  const server = createServer();
  try {
    writeFileSync(join(dir, 'file'), 'hello');
    linkSync(join(dir, 'file'), join(dir, 'hardlink'));
    mkdirSync(join(dir, 'dir'));
    symlinkSync('file', join(dir, 'link'));
    symlinkSync('/nowhere', join(dir, 'dangling'));
    spawnSync('mkfifo', [join(dir, 'fifo')]);
    await new Promise<void>((resolve) => server.listen(join(dir, 'sock'), resolve));
    const names = ['dangling', 'dir', 'fifo', 'file', 'gone', 'hardlink', 'link', 'sock'];
    for (const native of [true, false]) {
      const list = lstatMany(dir, names, native);
      names.forEach((n, k) => {
        const st = list.get(k);
        if (n === 'gone') return assert.equal(st, undefined);
        assert.ok(st, n);
        if (native && nativeSys()) assert.ok(st instanceof PackedStat, 'the native path packs');
        assert.deepEqual(view(st), view(lstatSync(join(dir, n), { bigint: true })), `${n} (native: ${native})`);
      });
    }
    // a device node, where there is one
    const dev = lstatMany('/dev', ['null']).get(0);
    assert.ok(dev?.isCharacterDevice());
    assert.equal(dev?.rdev, lstatSync('/dev/null', { bigint: true }).rdev);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lstatMany: other errors surface like lstatSync\'s, only for the entry asked for', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-stat-'));
  try {
    writeFileSync(join(dir, 'ok'), '');
    const long = 'x'.repeat(300); // past NAME_MAX
    for (const native of [true, false]) {
      const list = lstatMany(dir, ['ok', long], native);
      assert.ok(list.get(0)?.isFile());
      assert.throws(() => list.get(1), (e: NodeJS.ErrnoException) => e.code === 'ENAMETOOLONG' && e.syscall === 'lstat' && e.path === join(dir, long));
    }
    // a directory that cannot be opened: per-name lstat (ENOTDIR for names under a file)
    assert.equal(lstatMany(join(dir, 'ok'), ['a']).get(0), undefined);
    assert.equal(lstatMany(join(dir, 'missing'), ['a']).get(0), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lutimesNs sets times to the nanosecond (Node keeps ~µs), on a symlink itself, and throws Node\'s error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-utimes-'));
  try {
    if (process.env['CI'] === 'true') assert.ok(nativeSys()?.lutimesNs, `the native helper is built with lutimesNs (${nativeLoadError() ?? 'loaded'})`);
    writeFileSync(join(dir, 'f'), '');
    symlinkSync('f', join(dir, 'l'));
    const at = 1559390400_600000000n;
    const mt = 1577836800_300000001n;
    lutimesNs(join(dir, 'l'), at, mt);
    const l = lstatSync(join(dir, 'l'), { bigint: true });
    const f = lstatSync(join(dir, 'f'), { bigint: true });
    if (nativeSys()?.lutimesNs) assert.deepEqual([l.atimeNs, l.mtimeNs], [at, mt]);
    else assert.ok(l.mtimeNs - mt < 1000n && mt - l.mtimeNs < 1000n);
    assert.notEqual(f.mtimeNs, l.mtimeNs, 'the target is untouched');
    assert.throws(() => lutimesNs(join(dir, 'missing'), at, mt), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
