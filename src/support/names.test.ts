import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKilnError } from '../errors.js';
import { readdirNames, showRawName, utf8Name } from './names.js';

const raw = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

test('showRawName: valid UTF-8 as text, each invalid byte as \\xNN', () => {
  assert.equal(showRawName(raw('plain')), 'plain');
  assert.equal(showRawName(raw('bad', [0xff])), 'bad\\xff');
  assert.equal(showRawName(raw('é-', [0xc3], '-ü')), 'é-\\xc3-ü'); // a cut sequence
  assert.equal(showRawName(raw([0xe2, 0x82, 0xac, 0xfe, 0xfe])), '€\\xfe\\xfe');
  assert.equal(showRawName(raw([0xf0, 0x9f, 0x98, 0x80])), '😀');
});

test('utf8Name: decodes valid names, refuses the rest as a user error', () => {
  assert.equal(utf8Name(raw('dir/é.txt')), 'dir/é.txt');
  assert.throws(() => utf8Name(raw('x', [0x80]), 'tar entry name'), (e: unknown) => isKilnError(e) && e.code === 'NOT_IMPLEMENTED' && /tar entry name is not valid UTF-8: x\\x80/.test(e.message));
});

test('readdirNames: every name while all are UTF-8 (a real U+FFFD too); an error or a skip otherwise', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-names-'));
  try {
    writeFileSync(join(dir, 'ok'), '');
    writeFileSync(join(dir, 'real-\uFFFD'), ''); // valid UTF-8 that happens to hold U+FFFD
    assert.deepEqual(readdirNames(dir).sort(), ['ok', 'real-\uFFFD']);
    writeFileSync(raw(dir, '/bad', [0xff]), '');
    assert.throws(() => readdirNames(dir, '/shown'), (e: unknown) => isKilnError(e) && e.code === 'NOT_IMPLEMENTED' && e.message.startsWith('file name is not valid UTF-8: /shown/bad\\xff'));
    const asked: string[] = [];
    const names = readdirNames(dir, '/shown', (m) => (asked.push(m), true));
    assert.deepEqual(names.sort(), ['ok', 'real-\uFFFD'], 'the skipped name is left out, not returned mangled');
    assert.deepEqual(asked, ['bad\uFFFD']);
    assert.throws(() => readdirNames(dir, '/shown', () => false), /bad\\xff/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
