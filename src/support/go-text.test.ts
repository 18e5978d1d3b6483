import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goCleanPath, goTrimSpace, isGoSpace } from './go-text.js';

test('goCleanPath matches Go path.Clean', () => {
  const cases: [string, string][] = [
    ['', '.'],
    ['.', '.'],
    ['/', '/'],
    ['//', '/'],
    ['abc', 'abc'],
    ['abc/', 'abc'],
    ['a//b', 'a/b'],
    ['a/./b', 'a/b'],
    ['./a', 'a'],
    ['a/..', '.'],
    ['a/../..', '..'],
    ['../a/../../b', '../../b'],
    ['/..', '/'],
    ['/../a', '/a'],
    ['/a/b/../c', '/a/c'],
    ['abc/def/../../..', '..'],
    ['!*/', '!*'],
    ['!./foo', '!./foo'], // '!.' is a name, not '.'
    ['**/', '**'],
  ];
  for (const [input, want] of cases) assert.equal(goCleanPath(input), want, input);
});

test('goTrimSpace trims what Go strings.TrimSpace trims', () => {
  assert.equal(goTrimSpace('  a b \t\r\n'), 'a b');
  assert.equal(goTrimSpace('\u00a0\u0085x\u3000'), 'x');
  assert.equal(goTrimSpace('\ufeffx'), '\ufeffx'); // a BOM is not a space
  assert.equal(goTrimSpace(''), '');
  assert.equal(isGoSpace(0x0b), true);
  assert.equal(isGoSpace(0x200b), false);
});
