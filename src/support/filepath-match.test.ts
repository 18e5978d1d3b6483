import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { compileFilepathPattern, filepathMatch, hasGlobMeta } from './filepath-match.js';

// [pattern, name, expected]; 'bad' = Go's ErrBadPattern for this name.
type Row = readonly [string, string, boolean | 'bad'];
const rows: Row[] = [
  // literals and stars
  ['abc', 'abc', true],
  ['abc', 'abcd', false],
  ['', '', true],
  ['', 'a', false],
  ['*', 'abc', true],
  ['*', '', true],
  ['*', 'a/b', false],
  ['*c', 'abc', true],
  ['*c', 'abd', false],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ab/c', false],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a**b', 'axxb', true],
  ['*/*', 'a/b', true],
  ['*/*', 'a/b/c', false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['*x', 'xxx', true],
  ['*.txt', 'notes.txt', true],
  ['*.txt', 'dir/notes.txt', false],
  ['.*', '.env', true],
  // ?
  ['a?c', 'abc', true],
  ['a?c', 'ac', false],
  ['a?b', 'a/b', false],
  ['a?b', 'a☺b', true],
  ['a???b', 'a☺b', false], // ☺ is one rune for '?'
  // classes
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['a[^a]b', 'a☺b', true],
  ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false],
  ['[!a]', '!', true], // '!' is not negation in Go: the class is '!' or 'a'
  ['[!a]', 'b', false],
  ['[ab][cd]', 'bd', true],
  ['[a-cx-z]', 'y', true],
  ['[a-cx-z]', 'd', false],
  ['[/]', '/', true], // a class may match '/', unlike '?' and '*'
  ['[*]', '*', true], // '*' inside a class is literal
  ['[*]', 'a', false],
  // escapes
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'ab', false],
  ['a\\*b', 'axb', false],
  ['\\?', '?', true],
  ['\\[', '[', true],
  ['\\a', 'a', true],
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'x', true],
  ['[x\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true],
  ['[\\-x]', '-', true],
  ['[\\-x]', 'a', false],
  // malformed patterns
  ['[]a]', ']', 'bad'],
  ['[-]', '-', 'bad'],
  ['[x-]', 'x', 'bad'],
  ['[x-]', '-', 'bad'],
  ['[x-]', 'z', 'bad'],
  ['[-x]', 'x', 'bad'],
  ['[-x]', '-', 'bad'],
  ['[-x]', 'a', 'bad'],
  ['\\', 'a', 'bad'],
  ['a\\', 'a', 'bad'],
  ['[a-b-c]', 'a', 'bad'],
  ['[', 'a', 'bad'],
  ['[^', 'a', 'bad'],
  ['[^bc', 'a', 'bad'],
  ['a[', 'a', 'bad'],
  ['a[', 'ab', 'bad'],
  ['a[', 'x', 'bad'],
  ['a/b[', 'x', 'bad'],
  ['[]', 'a', 'bad'],
  // Go stops at the first chunk that cannot match, so a bad tail after a star goes unnoticed:
  ['a*b[', 'x', false],
  ['a*b[', 'ab', 'bad'],
  // byte semantics: after '*', Go may resume inside a multi-byte rune ('€' is 3 bytes)
  ['*??', '€', true],
  ['??', '€', false],
  ['*?', '€', true],
];

test('filepathMatch follows Go filepath.Match, bad patterns included', () => {
  const failures: string[] = [];
  for (const [pattern, name, want] of rows) {
    let got: boolean | 'bad';
    try {
      got = filepathMatch(pattern, name);
    } catch (e) {
      assert.ok(e instanceof KilnError && e.code === 'PATTERN_INVALID', String(e));
      got = 'bad';
    }
    if (got !== want) failures.push(`Match(${JSON.stringify(pattern)}, ${JSON.stringify(name)}) = ${got}, want ${want}`);
  }
  assert.deepEqual(failures, []);
});

test('compiled patterns give the same answers and reject any malformed part up front', () => {
  const failures: string[] = [];
  for (const [pattern, name, want] of rows) {
    let compiled;
    try {
      compiled = compileFilepathPattern(pattern);
    } catch (e) {
      assert.ok(e instanceof KilnError && e.code === 'PATTERN_INVALID');
      // Rejected up front: Go reports this pattern as bad for at least some name.
      if (want !== 'bad' && pattern !== 'a*b[') failures.push(`compile(${JSON.stringify(pattern)}) threw`);
      continue;
    }
    if (want === 'bad') failures.push(`compile(${JSON.stringify(pattern)}) accepted a bad pattern`);
    else if (compiled.match(name) !== want) failures.push(`compiled ${JSON.stringify(pattern)} on ${JSON.stringify(name)}`);
  }
  assert.deepEqual(failures, []);
  assert.throws(() => compileFilepathPattern('a*b['), /syntax error in pattern "a\*b\["/);
});

test('the error is a KilnError with a hint', () => {
  try {
    filepathMatch('[x-]', 'x');
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof KilnError);
    assert.equal(e.code, 'PATTERN_INVALID');
    assert.equal(e.message, 'syntax error in pattern "[x-]"');
    assert.ok(e.details.hint);
  }
});

test('hasGlobMeta finds the characters Match treats specially', () => {
  assert.equal(hasGlobMeta('src/app.js'), false);
  assert.equal(hasGlobMeta('src/*.js'), true);
  assert.equal(hasGlobMeta('a?'), true);
  assert.equal(hasGlobMeta('[ab]'), true);
  assert.equal(hasGlobMeta('a\\b'), true);
  assert.equal(compileFilepathPattern('plain.txt').literal, true);
  assert.equal(compileFilepathPattern('plain.txt').match('plain.txt'), true);
  assert.equal(compileFilepathPattern('plain.txt').match('plain.txtx'), false);
});
