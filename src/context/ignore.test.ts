import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { goCleanPath } from '../support/index.js';
import { IgnoreMatcher, describeIgnorePattern, parseDockerignore } from './ignore.js';
import { re2ToRegExp } from './re2.js';
import { callInWorker } from '../../test/helpers/in-worker.js';
import { rng } from '../../test/helpers/random-image.js';

const matcher = (text: string): IgnoreMatcher => new IgnoreMatcher(parseDockerignore(text));

test('parseDockerignore reads the file like ignorefile.ReadAll', () => {
  const text = '\ufeff# comment\r\n  # not a comment (trimmed after the # check)\n\n  spaced  \n! /a/b\n!c/../d/\n/abs/x/\n./rel\n/\n!\n';
  const r = parseDockerignore(text);
  assert.deepEqual(r.patterns, ['# not a comment (trimmed after the # check)', 'spaced', '!a/b', '!d', 'abs/x', 'rel', '/', '!']);
  assert.deepEqual(r.lines, [2, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(r.file, '.dockerignore');
  assert.deepEqual(parseDockerignore('').patterns, []);
  assert.deepEqual(parseDockerignore('a\nb').patterns, ['a', 'b']); // no final newline
  assert.deepEqual(parseDockerignore('x\n\ufeffy').patterns, ['x', '\ufeffy']); // only the first line loses a BOM
});

// [patterns, path, excluded] in the spirit of patternmatcher_test's MatchesOrParentMatches table.
const single: [string, string, boolean][] = [
  ['fileutils.go', 'fileutils.go', true],
  ['*.go', 'fileutils.go', true],
  ['*.go', 'pkg/fileutils.go', false],
  ['*', 'anything/at/all', true], // the parent 'anything' matches
  ['?', 'a', true],
  ['?', 'ab', false],
  ['?/x', 'a/x', true],
  ['a?c', 'a/c', false],
  ['**', 'x/y/z', true],
  ['**', 'x', true],
  ['**/', 'x', true],
  ['**/**', 'x/y', true],
  ['dir/**', 'dir', false],
  ['dir/**', 'dir/f', true],
  ['dir/**', 'dir/d2/f', true],
  ['dir**', 'dirx/f', true], // prefix match on the raw string
  ['**/dir', 'dir', true],
  ['**/dir', 'a/b/dir/f', true],
  ['**/dir2/*', 'dir/dir2/f', true],
  ['**/dir2/*', 'dir2x/f', false],
  ['**file', 'a/b/file', true],
  ['**file', 'a/b/xfile', true],
  ['**/file*.txt', 'a/b/file1.txt', true],
  ['**/**/*.txt', 'x.txt', true],
  ['**/**/*.txt2', 'a/x.txt', false],
  ['a**/*.txt', 'a/d/d/f.txt', true],
  ['a**/*.txt', 'ab/f.txt', true], // ^a(.*/)?[^/]*\.txt$: the group takes 'b/'
  ['a/*.txt**', 'a/f.txt', true],
  ['a/**/b', 'a/b', true],
  ['a/**/b', 'a/x/y/b', true],
  ['a/**/b', 'a/xb', false],
  ['**/.foo', '.foo', true],
  ['**/.foo', 'bar.foo', false],
  ['abc/**', 'abc', false],
  ['[a-c]x', 'bx', true],
  ['[a-c]x', 'dx', false],
  ['[^a-c]x', 'dx', true],
  ['[^a-c]x', 'ax', false],
  ['[!a]x', '!x', true], // '!' is literal inside a class
  ['[!a]x', 'bx', false],
  ['[[:digit:]]x', '7x', true],
  ['[[:digit:]]x', 'ax', false],
  ['[*]', '*', false], // Go reads ^[[^/]*]$: a class of '[', '^', '/', repeated, then ']'
  ['[*]', ']', true],
  ['[*]', '[^]', true],
  ['[**]', '(', true], // Go reads the class as [(.*/)?]
  ['./x', 'x', true],
  ['.x', 'ax', false], // '.' is not special
  ['a.b', 'a.b', true],
  ['a.*', 'a.c', true],
  ['a.*', 'abc', false],
  ['a(b)c', 'a(b)c', true],
  ['a+b|c$', 'a+b|c$', true],
  ['a+b|c$*', 'a+b|c$x', true],
  ['{a,b}*', '{a,b}x', true],
  ['\\*x', '*x', true],
  ['\\*x', 'ax', false],
  ['a\\?', 'a?', true],
  ['a\\?', 'ab', false],
  ['file\\d', 'file7', true], // Go's regexp reads \d as a digit
  ['file\\d', 'filed', false],
  ['\\x41*', 'Ab', true],
  ['é*', 'été', true],
  ['?', 'é', true],
  ['*', '', false], // the root is never excluded
];

test('single patterns match like patternmatcher MatchesOrParentMatches', () => {
  const failures: string[] = [];
  for (const [pattern, path, want] of single) {
    const got = matcher(pattern).excluded(path);
    if (got !== want) failures.push(`${JSON.stringify(pattern)} on ${JSON.stringify(path)}: ${got}, want ${want}`);
  }
  assert.deepEqual(failures, []);
});

test('several patterns: exceptions, last match wins, parents apply to children', () => {
  const cases: [string, string, boolean][] = [
    ['**\n!util/docker/web', 'util/docker/web/foo', false],
    ['**\n!util/docker/web\nutil/docker/web/foo', 'util/docker/web/foo', true],
    ['**\n!dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', false],
    ['docs\n!docs/keep', 'docs/keep/x', false],
    ['docs\n!docs/keep', 'docs/other', true],
    ['!x\nx', 'x', true],
    ['x\n!x', 'x', false],
    ['x\n!x\nx', 'x/y', true],
    ['*.log\n!keep.log\n*.log', 'keep.log', true],
    ['a/b\n!a', 'a/b/c', false], // the exception matches the parent 'a'
  ];
  for (const [text, path, want] of cases) assert.equal(matcher(text).excluded(path), want, `${JSON.stringify(text)} on ${path}`);
});

test('compile assigns the match kind and Go regexp patternmatcher does', () => {
  const cases: [string, string, string][] = [
    ['*', 'regexp', '^[^/]*$'],
    ['file*', 'regexp', '^file[^/]*$'],
    ['a*/b', 'regexp', '^a[^/]*/b$'],
    ['**', 'suffix', ''],
    ['**/**', 'regexp', '^(.*/)?.*$'],
    ['dir/**', 'prefix', ''],
    ['**/dir', 'suffix', ''],
    ['**/dir2/**', 'regexp', '^(.*/)?dir2/.*$'],
    ['**file', 'suffix', ''],
    ['**/**/*.txt', 'regexp', '^(.*/)?(.*/)?[^/]*\\.txt$'],
    ['a[b-d]e', 'regexp', '^a[b-d]e$'],
    ['.*', 'regexp', '^\\.[^/]*$'],
    ['abc.def', 'exact', ''],
    ['a(b)c/def', 'exact', ''],
    ['a/**b', 'regexp', '^a/(.*/)?b$'],
  ];
  for (const [pattern, kind, re] of cases) assert.deepEqual(describeIgnorePattern(pattern), { kind, goRegexp: re }, pattern);
});

test('canSkipDir: only when nothing beneath can be re-included', () => {
  const cases: [string, string, boolean][] = [
    ['node_modules', 'node_modules', true],
    ['node_modules', 'src', false],
    ['node_modules\n!node_modules/keep/**', 'node_modules', false],
    ['node_modules\n!node_modules/keep/**', 'node_modules/other', true],
    ['node_modules\n!node_modules/keep/**', 'node_modules/keep', false],
    ['*\n!src', 'docs', true],
    ['*\n!src', 'src', false],
    ['docs\n!docs/README.md', 'docs', false],
    ['**\n!keep/**', 'other', true],
    ['**\n!keep/**', 'keep', false],
    ['**/*.pyc\n!**/keep.pyc', 'x.pyc', false], // a suffix exception can match anywhere
    ['build\n!build/*/keep', 'build', false],
    ['build\n!build/*/keep', 'build/x', false],
    ['build\n!b*', 'build', false], // the exception re-includes 'build' itself
    ['a\n!b/**', 'a', true],
    ['a\n!a\na/x', 'a/x', true],
    ['a\n![ab]/x', 'a', false],
  ];
  for (const [text, dir, want] of cases) assert.equal(matcher(text).canSkipDir(dir), want, `${JSON.stringify(text)}: canSkipDir(${dir})`);
});

test('a skippable directory never hides a kept path', () => {
  const texts = ['node_modules\n!node_modules/keep/**', '*\n!src', 'build\n!build/*/keep', '**\n!**/x', 'a\n!a/b\na/b/c', 'a\n![a]/q'];
  const paths = ['a/b/c', 'a/b/c/d', 'a/q', 'build/x/keep', 'build/y/other', 'node_modules/keep/x', 'node_modules/y/z', 'src/a', 'docs/x', 'q/x'];
  for (const text of texts) {
    const m = matcher(text);
    for (const p of paths) {
      if (m.excluded(p)) continue;
      const parts = p.split('/');
      for (let i = 1; i < parts.length; i++) {
        const dir = parts.slice(0, i).join('/');
        assert.equal(m.canSkipDir(dir), false, `${JSON.stringify(text)}: ${dir} skipped but ${p} is kept`);
      }
    }
  }
});

test('malformed patterns are PATTERN_INVALID with the .dockerignore line', () => {
  const check = (text: string, message: RegExp, line?: number): void => {
    assert.throws(
      () => matcher(text),
      (e: unknown) => {
        assert.ok(e instanceof KilnError, String(e));
        assert.equal(e.code, 'PATTERN_INVALID');
        assert.match(e.message, message);
        if (line !== undefined) assert.deepEqual(e.location, [{ file: '.dockerignore', startLine: line, endLine: line }]);
        return true;
      },
    );
  };
  check('ok\n!', /^illegal exclusion pattern: "!"$/, 2); // the formatter puts .dockerignore:2: first
  check('! ', /illegal exclusion pattern/, 1);
  check('a\n\n[', /^syntax error in pattern "\["$/, 3);
  check('[]a]', /syntax error in pattern/);
  check('x\\', /syntax error in pattern/);
  check('a*[', /syntax error in pattern "a\*\["/); // passes Go's Match(p, "."), fails as a regexp
  check('[z-a]*', /syntax error in pattern/);
  assert.throws(() => new IgnoreMatcher(['!']), /illegal exclusion pattern/);
});

test('plain pattern lists work too, and an empty matcher excludes nothing', () => {
  const m = new IgnoreMatcher(['  *.tmp  ', '', '!keep.tmp']);
  assert.equal(m.excluded('a.tmp'), true);
  assert.equal(m.excluded('keep.tmp'), false);
  assert.equal(m.hasExceptions, true);
  const empty = new IgnoreMatcher([]);
  assert.equal(empty.empty, true);
  assert.equal(empty.excluded('x'), false);
  assert.equal(empty.canSkipDir('x'), false);
});

const deepPath = (depth: number, leaf: string): string => `${'dd/'.repeat(depth)}${leaf}`;
const stars = (n: number, leaf: string): string => `${'**/'.repeat(n)}${leaf}`;

// A backtracking RegExp needs exponential time for these (hours for 12 `**`, never ending for
// more); Go's regexp, and ours, are linear. A regression shows as a timeout, not a hang.
test('patterns that make a backtracking regexp explode are answered', { timeout: 10_000 }, async (t) => {
  const cases: [string[], string, boolean][] = [
    [[stars(6, 'a')], deepPath(40, 'b'), false],
    [[stars(8, 'a')], deepPath(40, 'b'), false],
    [[stars(12, 'a')], deepPath(40, 'b'), false],
    [[stars(12, 'a')], deepPath(40, 'a'), true],
    [[stars(12, 'a')], deepPath(40, 'b/a/c'), true], // the parent dd/.../b/a matches
    [[stars(14, 'x')], deepPath(60, 'y'), false],
    [[stars(14, 'x')], deepPath(60, 'x'), true],
    [[stars(14, 'x') + '*y'], deepPath(60, 'xzzzzzzzzzzzzz'), false],
    [['a*a*a*a*a*a*a*b'], 'a'.repeat(5000), false],
    [['a*a*a*a*a*a*a*b'], 'a'.repeat(5000) + 'b', true],
    [['*a*a*a*a*a*a*a*a*a*a*c'], `${'a'.repeat(3000)}/b`, false],
    [['[a]*[a]*[a]*[a]*[a]*[a]*[a]*?'], 'a'.repeat(3000), true],
    [['**/**/**/**/**/**/**/**/**/**/**/**/**/**/*.c', '!' + stars(14, 'a')], deepPath(60, 'b.d'), false],
  ];
  // In a worker: were matching to backtrack again, the timeout could still fail the test.
  const got = await callInWorker<boolean[]>(
    new URL('./ignore.js', import.meta.url),
    '({ IgnoreMatcher }, cases) => cases.map(([patterns, path]) => new IgnoreMatcher(patterns).excluded(path))',
    cases.map(([patterns, path]) => [patterns, path]),
    t.signal,
  );
  cases.forEach(([patterns, path, want], i) => assert.equal(got[i], want, `${JSON.stringify(patterns)} on ${path.length} characters`));
});

// The answers must be exactly those of the RegExp translation of patternmatcher's regexp
// (which re2.test.ts checks against Go's syntax): compare the two on many small patterns and
// paths, short enough that backtracking stays cheap.
test('pattern matching agrees with the RegExp translation on generated patterns', () => {
  const pieces = ['a', 'b', '/', '*', '**', '**/', '?', '.', '[ab]', '[^a]', '[!a]', '\\*', '\\d', '^', 'é', '[[:alpha:]]'];
  const letters = ['a', 'b', '/', '.', '1', '*', 'é', '!'];
  const random = seeded(2024);
  const failures: string[] = [];
  let compared = 0;
  for (let k = 0; k < 8000; k++) {
    let pattern = '';
    for (let n = 1 + random(5); n > 0; n--) pattern += pieces[random(pieces.length)];
    let m: IgnoreMatcher;
    try {
      m = new IgnoreMatcher([pattern]);
    } catch {
      continue; // malformed: PATTERN_INVALID (checked elsewhere)
    }
    const { kind, goRegexp } = describeIgnorePattern(goCleanPath(pattern));
    if (kind !== 'regexp') continue;
    const re = re2ToRegExp(goRegexp);
    for (let q = 0; q < 30; q++) {
      let path = '';
      for (let n = 1 + random(7); n > 0; n--) path += letters[random(letters.length)];
      if (goCleanPath(path) !== path || path.startsWith('/') || path === '.') continue; // walks give clean relative paths
      const want = prefixes(path).some((p) => re.test(p));
      compared++;
      if (m.excluded(path) !== want) failures.push(`${JSON.stringify(pattern)} on ${JSON.stringify(path)}: want ${want}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(compared > 20_000, `only ${compared} comparisons`);
});

/** The path and its parent directories (what MatchesOrParentMatches tries). */
function prefixes(path: string): string[] {
  const parts = path.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Whether one cleaned pattern matches `path`, straight from its kind and regexp (no shortcuts). */
function referenceMatch(cleaned: string, path: string): boolean {
  const { kind, goRegexp } = describeIgnorePattern(cleaned);
  if (kind === 'exact') return path === cleaned;
  if (kind === 'prefix') return path.startsWith(cleaned.slice(0, -2));
  if (kind === 'suffix') return path.endsWith(cleaned.slice(2)) || (cleaned.startsWith('**/') && path === cleaned.slice(3));
  return re2ToRegExp(goRegexp).test(path);
}

// Files are only tested against the patterns that can match below their top-level name:
// the answers must be those of trying every pattern in order, the last match deciding.
test('several patterns agree with trying every pattern in order', () => {
  const pieces = ['a/', 'b/', 'ab/', 'a', 'b', '*', '**', '**/', '?', '[ab]', '/x', 'x'];
  const names = ['a', 'b', 'ab', 'x', 'bx'];
  const random = seeded(99);
  const failures: string[] = [];
  for (let k = 0; k < 1500; k++) {
    const patterns: string[] = [];
    for (let n = 1 + random(6); n > 0; n--) {
      let p = random(3) === 0 ? '!' : '';
      for (let m = 1 + random(4); m > 0; m--) p += pieces[random(pieces.length)];
      patterns.push(p);
    }
    let matcher: IgnoreMatcher;
    try {
      matcher = new IgnoreMatcher(patterns);
    } catch {
      continue;
    }
    const compiled = patterns.map((raw) => {
      const p = goCleanPath(raw);
      return p.startsWith('!') ? { cleaned: p.slice(1), exclusion: true } : { cleaned: p, exclusion: false };
    });
    for (let q = 0; q < 20; q++) {
      const parts: string[] = [];
      for (let n = 1 + random(4); n > 0; n--) parts.push(names[random(names.length)]!);
      const path = parts.join('/');
      let want = false;
      for (const { cleaned, exclusion } of compiled) {
        if (prefixes(path).some((p) => referenceMatch(cleaned, p))) want = !exclusion;
      }
      if (matcher.excluded(path) !== want) failures.push(`${JSON.stringify(patterns)} on ${path}: want ${want}`);
    }
  }
  assert.deepEqual(failures, []);
});

/** A deterministic random integer source: `random(n)` is in [0, n). */
function seeded(seed: number): (n: number) => number {
  const r = rng(seed);
  return (n) => (r() * n) | 0;
}
