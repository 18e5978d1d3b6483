import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { writeTree } from './pack.js';

test('writeTree streams big files chunk by chunk (never the whole file in memory)', async () => {
  const dir = mkdtempSync(`${tmpdir()}/kiln-pack-`);
  try {
    writeFileSync(`${dir}/big`, Buffer.alloc(8 << 20, 1));
    const stream = writeTree(dir, { chunkSize: 64 << 10 });
    let seen = 0;
    // Once the first chunk is out, shrink the file: a streaming writer has not read the rest yet
    // and notices; a buffering one would already hold all 8 MiB.
    await assert.rejects(
      (async () => {
        for await (const c of stream) {
          if (seen === 0) truncateSync(`${dir}/big`, 0);
          seen += (c as Buffer).length;
        }
      })(),
      { code: 'IO', message: /big shrank while it was being archived/ },
    );
    assert.ok(seen < 4 << 20, `only part of the file was produced (${seen} bytes)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writeTree of a missing directory is an IO error naming it', async () => {
  await assert.rejects(
    (async () => {
      for await (const _ of writeTree('/nonexistent/kiln-test')) void _;
    })(),
    { code: 'IO', message: /\/nonexistent\/kiln-test/ },
  );
});
