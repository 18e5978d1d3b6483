import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError, formatError } from '../errors.js';
import { decodeDockerfile, firstInvalidUtf8 } from './encoding.js';
import { parse } from './parser.js';

function bytes(...parts: (string | number[])[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
}

function error(fn: () => unknown): KilnError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KilnError, `expected a KilnError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}

test('decodeDockerfile: valid UTF-8 decodes as Buffer#toString does, a UTF-8 BOM included (the parser drops it)', () => {
  const plain = bytes('FROM busybox\nLABEL a=é😀\n');
  assert.equal(decodeDockerfile(plain), plain.toString('utf8'));
  const bom = bytes([0xef, 0xbb, 0xbf], 'FROM busybox\nRUN echo hi\n');
  const text = decodeDockerfile(bom);
  assert.equal(text, bom.toString('utf8'));
  assert.equal(parse(text).instructions[0]!.keyword, 'FROM');
  assert.equal(decodeDockerfile(new Uint8Array()), '');
});

test('decodeDockerfile: invalid UTF-8 is DOCKERFILE_SYNTAX at its line and column, not U+FFFD', () => {
  const e = error(() => decodeDockerfile(bytes('FROM busybox\nRUN echo ', [0xff], ' > /x\n')));
  assert.equal(e.code, 'DOCKERFILE_SYNTAX');
  assert.equal(e.message, 'the line is not valid UTF-8 (byte 0xff at column 10)');
  assert.deepEqual(e.location, [{ file: 'Dockerfile', startLine: 2, endLine: 2, startCol: 10, endCol: 10 }]);
  assert.match(e.details.hint ?? '', /save the Dockerfile as UTF-8/);
  const shown = formatError(e);
  assert.match(shown, /^Dockerfile:2\n/);
  assert.match(shown, / 2 \| >>> RUN echo \uFFFD > \/x/);
  assert.match(shown, /ERROR: Dockerfile:2: the line is not valid UTF-8 \(byte 0xff at column 10\)/);
  assert.doesNotMatch(shown, /\n\s+at /); // no stack

  const label = error(() => decodeDockerfile(bytes('FROM busybox\nLABEL a=', [0xff], '\n'), 'build/Dockerfile.dev'));
  assert.equal(label.message, 'the line is not valid UTF-8 (byte 0xff at column 9)');
  assert.equal(label.location?.[0]?.file, 'build/Dockerfile.dev');
});

test('decodeDockerfile: columns count characters; a BOM is not a column; truncated sequences show their bytes', () => {
  // "é" is two bytes, one column
  const wide = error(() => decodeDockerfile(bytes('FROM x\nLABEL é=', [0xe2, 0x82], '\n')));
  assert.equal(wide.message, 'the line is not valid UTF-8 (bytes 0xe2 0x82 at column 9)');
  const bom = error(() => decodeDockerfile(bytes([0xef, 0xbb, 0xbf], 'FROM ', [0xc0, 0xaf], '\n')));
  assert.equal(bom.message, 'the line is not valid UTF-8 (byte 0xc0 at column 6)');
  assert.equal(bom.location?.[0]?.startLine, 1);
  // an encoded surrogate (CESU-8) and a code point above U+10FFFF are not UTF-8
  assert.match(error(() => decodeDockerfile(bytes('FROM x\n', [0xed, 0xa0, 0x80]))).message, /byte 0xed at column 1\)/);
  assert.match(error(() => decodeDockerfile(bytes('FROM x\n', [0xf4, 0x90, 0x80, 0x80]))).message, /byte 0xf4 at column 1\)/);
  // a truncated sequence at the very end of the file
  assert.match(error(() => decodeDockerfile(bytes('FROM x', [0xf0, 0x9f, 0x98]))).message, /bytes 0xf0 0x9f 0x98 at column 7\)/);
});

test('decodeDockerfile: a UTF-16 file gets a hint saying so', () => {
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('FROM x\n', 'utf16le')]);
  const e = error(() => decodeDockerfile(utf16));
  assert.equal(e.message, 'the line is not valid UTF-8 (byte 0xff at column 1)');
  assert.match(e.details.hint ?? '', /UTF-16/);
});

test('firstInvalidUtf8 agrees with TextDecoder on where decoding goes wrong', () => {
  const cases: number[][] = [[0x41], [0x80], [0xc1, 0xbf], [0xc2, 0x41], [0xe0, 0x9f, 0x80], [0xe1, 0x80, 0x80], [0xef, 0xbf, 0xbf], [0xf0, 0x8f, 0x80, 0x80], [0xf0, 0x90, 0x80, 0x80], [0xf5], [0xe1, 0x80]];
  for (const c of cases) {
    const b = Uint8Array.from(c);
    const valid = (() => {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(b);
        return true;
      } catch {
        return false;
      }
    })();
    assert.equal(firstInvalidUtf8(b) === undefined, valid, c.map((n) => n.toString(16)).join(' '));
  }
});

test('a NUL byte is DOCKERFILE_SYNTAX at its line and column, shown as ␀ (decodeDockerfile and parse)', () => {
  const text = 'FROM busybox\nRUN echo a\0b\n';
  for (const e of [error(() => decodeDockerfile(Buffer.from(text))), error(() => parse(text))]) {
    assert.equal(e.code, 'DOCKERFILE_SYNTAX');
    assert.equal(e.message, 'the line holds a NUL byte (at column 11)');
    assert.deepEqual(e.location, [{ file: 'Dockerfile', startLine: 2, endLine: 2, startCol: 11, endCol: 11 }]);
    assert.match(e.details.hint ?? '', /binary file/);
    assert.match(formatError(e), / 2 \| >>> RUN echo a\u2400b\n/);
  }
  // in a heredoc body, in a comment, after a BOM: still an error, at the right line
  assert.equal(error(() => parse('FROM x\nCOPY <<EOF /f\n\0\nEOF\n')).location?.[0]?.startLine, 3);
  assert.equal(error(() => parse('# \0\nFROM x\n', { file: 'my.Dockerfile' })).location?.[0]?.file, 'my.Dockerfile');
  assert.equal(error(() => parse('\uFEFFFROM x\0\n')).message, 'the line holds a NUL byte (at column 7)');
});
