import { test } from 'node:test';
import assert from 'node:assert/strict';
import { re2Tokens, re2ToRegExp } from './re2.js';
import { Re2Nfa } from './re2-nfa.js';
import { callInWorker } from '../../test/helpers/in-worker.js';
import { rng } from '../../test/helpers/random-image.js';

const nfa = (source: string): Re2Nfa => new Re2Nfa(re2Tokens(source));

test('the NFA answers the Go regexp semantics re2.ts translates', () => {
  const cases: [string, string, boolean][] = [
    ['^(.*/)?b$', 'x/y/b', true],
    ['^(.*/)?b$', 'x/yb', false],
    ['^a.b$', 'a\nb', false],
    ['^[^/]$', '😀', true], // one code point
    ['^[^/][^/]$', '😀', false],
    ['^[^/]$', '\ud800', true], // a lone surrogate is one code point too
    ['^[[:alpha:][:digit:]]+$', 'ab12', true],
    ['^[[:alpha:][:digit:]]+$', '', false],
    ['^\\pL\\p{Greek}$', 'aα', true],
    ['^\\Qa.b\\E$', 'axb', false],
    ['^\\Qa[^/]*$', 'a[^/]*$', true], // an unclosed \Q takes the rest literally, `$` too
    ['^\\Qa[^/]*$', 'a[^/]*$/more', true], // ...so nothing anchors the end
    ['\\Aab\\z', 'ab', true],
    ['^a\\bb$', 'ab', false],
    ['^a\\b/$', 'a/', true],
    ['^a\\B$', 'a', false],
    ['^\\b$', '', false],
    ['^\\B$', '', true],
    ['^a^b$', 'ab', false], // `^` in the middle never holds
    ['^$', '', true],
    ['^(a|b)+$', 'abba', true],
    ['^a+?$', 'aaa', true], // lazy: the same yes/no
    ['^a??b$', 'b', true],
    ['b', 'aab', true], // unanchored: a match may start anywhere
    ['\\bb', 'a b', true],
    ['\\bb', 'ab', false],
    ['a$', 'ab', false],
    // literal runs a match must contain (checked before the automaton runs)
    ['^x(ab)c$', 'xabc', true],
    ['^a(b|c)d$', 'acd', true], // an alternative is not required
    ['^ab*c$', 'ac', true], // nor is a repeated literal
    ['^(ab)?c$', 'c', true],
    ['xy', 'axyb', true],
    ['^ab$', 'ba', false],
    ['^[^/]*\\.tmp1$', 'a.tmp2', false],
    ['^[^/]*/sub/x1[^/]*$', 'd/sub/x12', true],
  ];
  for (const [re, s, want] of cases) {
    assert.equal(re2ToRegExp(re).test(s), want, `RegExp: ${re} on ${JSON.stringify(s)}`);
    assert.equal(nfa(re).test(s), want, `NFA: ${re} on ${JSON.stringify(s)}`);
  }
});

test('a compiled regexp gives the same answers when reused', () => {
  const m = nfa('^(.*/)?[^/]*\\.txt$');
  const subjects = ['a.txt', 'a/b.txt', 'a.txt/b', '', 'x/y/z.txt', 'é/😀.txt', 'a.txt'];
  const first = subjects.map((s) => m.test(s));
  for (let round = 0; round < 3; round++) assert.deepEqual(subjects.map((s) => m.test(s)), first);
  assert.deepEqual(first, [true, true, false, false, true, true, true]);
});

// Random regexps built from the pieces patternmatcher and users can produce (and a few
// more), against random short subjects: the NFA must agree with RegExp every time.
test('the NFA agrees with the RegExp translation on generated regexps', () => {
  const pieces = ['a', 'b', '/', '.', '.*', '[^/]', '[^/]*', '(.*/)?', '\\b', '\\B', '^', '$', '\\pL', '[[:digit:]]', '\\Qa.\\E', '\\Q', '\\E'];
  pieces.push('(a|b)', 'a+', 'a*?', 'a??', '\\d', 'é', '😀', '[a-c]', '[^a]', '\\x41', '[\\d/]', '\\z', '\\A', '[', '(', ')', '*', '|', '?', '{', '\\*', '\\W');
  const letters = ['a', 'b', '/', '.', '1', ' ', 'é', '😀', 'A', '\n', '\ud800', '*'];
  const random = seeded(7);
  const failures: string[] = [];
  let matches = 0;
  for (let k = 0; k < 3000; k++) {
    // Mostly anchored like patternmatcher's; unanchored, V8 also tries a match starting
    // inside a surrogate pair (/\B/u.test('a😀') is true), which Re2Nfa does not copy.
    const anchored = random(4) !== 0;
    let source = anchored ? '^' : '';
    for (let n = 1 + random(6); n > 0; n--) source += pieces[random(pieces.length)];
    let re: RegExp;
    try {
      re = re2ToRegExp(source);
    } catch {
      continue; // rejected by both: they share the parser
    }
    const m = nfa(source);
    for (let q = 0; q < 30; q++) {
      let s = '';
      for (let n = random(8); n > 0; n--) s += letters[random(letters.length)];
      if (!anchored && s.includes('😀')) continue;
      const want = re.test(s);
      if (want) matches++;
      if (m.test(s) !== want) failures.push(`${JSON.stringify(source)} on ${JSON.stringify(s)}: want ${want}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(matches > 10_000, `only ${matches} matches`);
});

test('linear in the subject and the pattern, however many stars', { timeout: 10_000 }, async (t) => {
  const cases: [string, string, boolean][] = [
    ['^' + '(.*/)?'.repeat(200) + 'a$', 'dd/'.repeat(500) + 'b', false],
    ['^' + '(.*/)?'.repeat(200) + 'a$', 'dd/'.repeat(500) + 'a', true],
    ['^' + 'a[^/]*'.repeat(50) + 'b$', 'a'.repeat(10_000), false],
    ['(x+x+)+y', 'x'.repeat(10_000), false],
    ['(x+x+)+y', 'x'.repeat(10_000) + 'y', true],
  ];
  // In a worker, so that a regression fails by the timeout instead of hanging the run.
  const got = await callInWorker<boolean[]>(
    new URL('./re2-nfa.js', import.meta.url),
    '({ Re2Nfa }, cases) => cases.map(([tokens, s]) => new Re2Nfa(tokens).test(s))',
    cases.map(([re, s]) => [re2Tokens(re), s]),
    t.signal,
  );
  cases.forEach(([re, s, want], i) => assert.equal(got[i], want, `${re.slice(0, 40)} on ${s.length} characters`));
});

/** A deterministic random integer source: `random(n)` is in [0, n). */
function seeded(seed: number): (n: number) => number {
  const r = rng(seed);
  return (n) => (r() * n) | 0;
}
