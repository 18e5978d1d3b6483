import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replaceFile } from './replace-file.js';

test('replaceFile: replaces the file whole, with an exact mode, and leaves no temp file either way', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-replace-'));
  const old = process.umask(0o077);
  try {
    const f = join(dir, 'rec.json');
    writeFileSync(f, 'old');
    replaceFile(f, 'new');
    assert.equal(readFileSync(f, 'utf8'), 'new');
    replaceFile(f, Buffer.from('bytes'), { mode: 0o644 });
    assert.equal(readFileSync(f, 'utf8'), 'bytes');
    assert.equal(statSync(f).mode & 0o777, 0o644, 'the mode is exact, whatever the umask');
    assert.deepEqual(readdirSync(dir), ['rec.json']);
    // a failure (the target is a non-empty directory: rename fails) throws and cleans up
    mkdirSync(join(dir, 'busy'));
    writeFileSync(join(dir, 'busy', 'x'), '');
    assert.throws(() => replaceFile(join(dir, 'busy'), 'data'));
    assert.deepEqual(readdirSync(dir).sort(), ['busy', 'rec.json'], 'no temp file left behind');
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});
