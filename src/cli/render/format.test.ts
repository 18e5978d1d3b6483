import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, MAX_LINE } from './format.js';

test('LineSplitter: lines across pushes, empty lines, flush and peek', () => {
  const s = new LineSplitter<number>();
  assert.deepEqual(s.push(1, 'a'), []);
  assert.deepEqual(s.push(1, 'b\n\nc'), ['ab', '']);
  assert.deepEqual(s.push(2, 'x\n'), ['x']);
  assert.equal(s.peek(1), 'c');
  assert.equal(s.peek(2), undefined);
  assert.deepEqual(s.push(1, 'd'), []);
  assert.equal(s.flush(1), 'cd');
  assert.equal(s.flush(1), undefined);
});

test('LineSplitter: an unfinished line is handed out in maxLine pieces', () => {
  const s = new LineSplitter<number>(4);
  assert.deepEqual(s.push(1, 'abcd'), []);
  assert.deepEqual(s.push(1, '\n'), ['abcd']);
  assert.deepEqual(s.push(1, 'abcdefghij'), ['abcd', 'efgh']);
  assert.equal(s.peek(1), 'ij');
  assert.deepEqual(s.push(1, 'k\n'), ['ijk']);
  // no half surrogate pairs
  assert.deepEqual(s.push(2, 'abc😀d\n'), ['abc', '😀d']);
});

test('LineSplitter: 20 MB without a newline in 1 KiB pushes stays linear and bounded', { timeout: 20_000 }, () => {
  const s = new LineSplitter<number>();
  const piece = 'x'.repeat(1024);
  let emitted = 0;
  for (let n = 0; n < 20_000_000; n += piece.length) {
    for (const l of s.push(1, piece)) {
      assert.equal(l.length, MAX_LINE);
      emitted += l.length;
    }
    assert.ok((s.peek(1)?.length ?? 0) <= MAX_LINE);
  }
  emitted += s.flush(1)?.length ?? 0;
  assert.equal(emitted, Math.ceil(20_000_000 / 1024) * 1024);
});
