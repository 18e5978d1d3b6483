import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Re2Error, re2ToRegExp } from './re2.js';

test('Go regexp syntax used by .dockerignore translates to the same matches', () => {
  const cases: [string, string, boolean][] = [
    ['^(.*/)?b$', 'x/y/b', true],
    ['^(.*/)?b$', 'x/yb', false],
    ['^a.b$', 'a\nb', false], // Go's '.' does not match a newline
    ['^[^/]$', '\n', true], // a negated class does
    ['^[^/]$', '😀', true], // one rune, not one UTF-16 unit
    ['^[]a]$', ']', true], // ']' first in a class is literal
    ['^[a-]$', '-', true],
    ['^[[:alpha:][:digit:]]+$', 'ab12', true],
    ['^[[:^alpha:]]$', '1', true],
    ['^[[:^alpha:]]$', 'a', false],
    ['^\\d\\s\\w$', '1 _', true],
    ['^\\s$', '\u00a0', false], // Go's \s is ASCII only
    ['^[\\D]$', 'x', true],
    ['^\\x41\\x{42}\\103\\0$', 'ABC\0', true],
    ['^\\pL\\p{Greek}$', 'aα', true],
    ['^\\PL$', '1', true],
    ['^\\Qa.b\\E$', 'a.b', true],
    ['^\\Qa.b\\E$', 'axb', false],
    ['\\Aab\\z', 'ab', true],
    ['^\\.\\!\\/\\_$', '.!/_', true],
    ['^a{$', 'a{', true],
    ['^[(.*/)?]$', '*', true],
  ];
  for (const [re, s, want] of cases) assert.equal(re2ToRegExp(re).test(s), want, `${re} on ${JSON.stringify(s)}`);
});

test('what Go rejects is rejected', () => {
  for (const bad of ['^[a$', '^\\', '^\\q$', '^\\1$', '^\\C$', '^[z-a]$', '^[[:nope:]]$', '^\\p{Nope}$', '^\\x4$', '^(?i)a$']) {
    assert.throws(() => re2ToRegExp(bad), Re2Error, bad);
  }
});
