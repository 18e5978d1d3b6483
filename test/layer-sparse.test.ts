// GNU tar's sparse files in PAX archives (--sparse --format=posix, map versions 0.0, 0.1 and
// 1.0), written by the real GNU tar and read back by kiln's tar reader: each must come out as
// the real file (name, size, every byte, holes as zeros), as Go's archive/tar gives it to
// BuildKit's ADD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTar } from '../src/layer/index.js';
import { prereq, which } from './helpers/prereq.js';

/** A sparse file of `size` bytes with `data` written at the given offsets. */
function sparseFile(path: string, size: number, data: Array<[number, string]>): Buffer {
  const fd = openSync(path, 'w');
  for (const [off, s] of data) writeSync(fd, s, off);
  closeSync(fd);
  spawnSync('truncate', ['-s', String(size), path]);
  return readFileSync(path);
}

const ready = which('tar') !== undefined && which('truncate') !== undefined;

test('GNU tar PAX sparse files (0.0, 0.1, 1.0) read as the real files', async (t) => {
  if (!prereq(t, ready, 'GNU tar and truncate')) return;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sparse-'));
  try {
    const src = join(dir, 'src');
    mkdirSync(src);
    const files = new Map<string, Buffer>([
      ['holes', sparseFile(join(src, 'holes'), 3 << 20, [[0, 'start'], [300_000, 'middle'], [(3 << 20) - 3, 'end']])],
      ['all-hole', sparseFile(join(src, 'all-hole'), 1 << 20, [])],
      ['tail-hole', sparseFile(join(src, 'tail-hole'), 2 << 20, [[4096 * 3, 'x'.repeat(70_000)]])],
    ]);
    for (const version of ['0.0', '0.1', '1.0']) {
      const archive = join(dir, `sparse-${version}.tar`);
      const r = spawnSync('tar', ['--sparse', '--format=posix', `--sparse-version=${version}`, '-C', src, '-cf', archive, ...files.keys()], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const raw = readFileSync(archive);
      assert.ok(raw.includes('GNU.sparse.'), `${version}: GNU tar wrote sparse records`);
      const got = new Map<string, Buffer>();
      for await (const e of readTar([raw])) {
        const parts: Buffer[] = [];
        for await (const b of e.body) parts.push(Buffer.from(b));
        const data = Buffer.concat(parts);
        assert.equal(e.header.type, 'file', `${version} ${e.header.name}`);
        assert.equal(e.header.size, data.length, `${version} ${e.header.name}: header size is the real size`);
        got.set(e.header.name, data);
      }
      assert.deepEqual([...got.keys()].sort(), [...files.keys()].sort(), `${version}: the real names, not GNUSparseFile.<pid>/...`);
      for (const [name, want] of files) assert.ok(got.get(name)!.equals(want), `${version} ${name}: same bytes`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
