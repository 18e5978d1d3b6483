import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputsSignature } from './signature.js';
import { selectInputs, type Input } from './inputs.js';
import type { CopyRequest } from './types.js';

const LATER = (BigInt(Date.now()) + 10_000n) * 1_000_000n; // nothing is racy 10 s from now

function context(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sig-'));
  mkdirSync(join(dir, 'src', 'a'), { recursive: true });
  writeFileSync(join(dir, 'src', 'a', 'x'), 'x');
  writeFileSync(join(dir, 'src', 'y'), 'y');
  symlinkSync('y', join(dir, 'src', 'link'));
  return dir;
}

const request = (dir: string, over: Partial<CopyRequest> = {}): Omit<CopyRequest, 'destRoot'> => ({
  srcRoot: dir, srcKind: 'context', sources: ['src'], inline: [], dest: '/app/', parents: false, excludes: [], link: false, ...over,
});

/** The same inputs with Node's own lstat results (the path without the native helper). */
function withNodeStats(inputs: Input[]): Input[] {
  return inputs.map((i) => (i.kind !== 'local' ? i : { ...i, entries: i.entries.map((e) => ({ ...e, st: lstatSync(e.abs, { bigint: true }) })) }));
}

test('inputsSignature: stable, the same from packed and Node stats, and moved by every input', async () => {
  const dir = context();
  try {
    const req = request(dir);
    const a = inputsSignature(req, await selectInputs(req), LATER)!;
    assert.equal(a.racy, false);
    assert.equal(inputsSignature(req, await selectInputs(req), LATER)!.sig, a.sig);
    assert.equal(inputsSignature(req, withNodeStats(await selectInputs(req)), LATER)!.sig, a.sig);
    // a flag, the destination, an inline file: other signatures
    for (const over of [{ dest: '/other/' }, { chmod: '600' }, { inline: [{ path: '/f', data: 'd' }] }] as Partial<CopyRequest>[]) {
      const r = request(dir, over);
      assert.notEqual(inputsSignature(r, await selectInputs(r), LATER)!.sig, a.sig, JSON.stringify(over));
    }
    // a new file
    writeFileSync(join(dir, 'src', 'a', 'z'), '');
    assert.notEqual(inputsSignature(req, await selectInputs(req), LATER)!.sig, a.sig);
    // racy: a file changed within the last second
    assert.equal(inputsSignature(req, await selectInputs(req), BigInt(Date.now()) * 1_000_000n)!.racy, true);
    // what a URL sends is not on disk: no signature
    const url = request(dir, { sources: ['https://127.0.0.1:1/x'], add: {} });
    assert.equal(inputsSignature(url, [{ kind: 'url', url: 'https://127.0.0.1:1/x' }], LATER), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
