import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { writeTree } from './pack.js';
import { TAR_END, encodeEntry } from './tar-format.js';
import { applyLayerInWorker, writeTreeInWorker } from './worker-client.js';

async function bytes(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

function tree(dir: string): void {
  mkdirSync(`${dir}/a/b`, { recursive: true });
  for (let i = 0; i < 300; i++) writeFileSync(`${dir}/a/b/f${i}`, Buffer.alloc(i * 97, i));
  writeFileSync(`${dir}/big`, Buffer.alloc(5 << 20, 1)); // several chunks: exercises the window
  symlinkSync('a/b/f1', `${dir}/link`);
}

test('writeTreeInWorker gives the same bytes as writeTree; applyLayerInWorker unpacks them', async () => {
  const dir = mkdtempSync(`${tmpdir()}/kiln-layer-worker-`);
  try {
    mkdirSync(`${dir}/src`);
    tree(`${dir}/src`);
    const inThread = await bytes(writeTree(`${dir}/src`));
    const inWorker = await bytes(writeTreeInWorker(`${dir}/src`, { chunkSize: 64 << 10 }));
    assert.ok(inWorker.equals(inThread));
    mkdirSync(`${dir}/out`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < inThread.length; i += 100_000) chunks.push(inThread.subarray(i, i + 100_000));
    const r = await applyLayerInWorker(Readable.from(chunks), `${dir}/out`);
    assert.equal(r.bytes, (5 << 20) + [...Array(300).keys()].reduce((s, i) => s + i * 97, 0));
    assert.ok(readFileSync(`${dir}/out/big`).equals(readFileSync(`${dir}/src/big`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors cross the thread boundary with their KilnError code', async () => {
  const dir = mkdtempSync(`${tmpdir()}/kiln-layer-worker-`);
  try {
    const evil = Buffer.concat([encodeEntry({ name: '../x', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 }, Buffer.from('x')), TAR_END]);
    await assert.rejects(applyLayerInWorker([evil], dir), { code: 'LAYER_UNSAFE', message: /"\.\.\/x" escapes the root/ });
    await assert.rejects(bytes(writeTreeInWorker(`${dir}/missing`)), { code: 'IO', message: /missing/ });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
