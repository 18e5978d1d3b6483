import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveChown } from './owner.js';

test('resolveChown: --chown forms as BuildKit resolves them (answers checked against Docker 26)', () => {
  const root = mkdtempSync(join(tmpdir(), 'kiln-owner-'));
  try {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:50:\napp:x:1000:\n');
    const cases: Array<[string, number, number]> = [
      ['app', 1000, 1000],
      ['app:staff', 1000, 50],
      ['app:7', 1000, 7],
      ['app:nosuchgroup', 1000, 1000], // a group not found keeps the user's gid
      ['app:', 1000, 0], // an empty group is gid 0, not the user's group
      ['1000:', 1000, 0],
      [':', 0, 0],
      [':staff', 0, 50],
      ['1001', 1001, 1001],
      ['root', 0, 0],
      ['nosuchuser', 0, 0],
    ];
    for (const [spec, uid, gid] of cases) assert.deepEqual(resolveChown(root, spec), { uid, gid }, spec);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
