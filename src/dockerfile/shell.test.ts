import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { MAX_EXPANDED, ShellLex, type ShellEnv, type ShellLexOptions } from './shell.js';

interface Case {
  readonly input: string;
  readonly env?: Record<string, string>;
  readonly opts?: ShellLexOptions;
  /** Expected result, or an Error-message regex. */
  readonly want: string | RegExp;
  readonly matched?: readonly string[];
  readonly unmatched?: readonly string[];
}

const E = { SET: 'val', EMPTY: '' };

// In the style of BuildKit's TestProcessWithMatches: result plus the matched/unmatched sets.
const cases: Case[] = [
  { input: 'plain', want: 'plain' },
  { input: 'a ${NOPE} b', want: 'a  b', unmatched: ['NOPE'] },
  { input: 'a $SET b', env: E, want: 'a val b', matched: ['SET'] },
  { input: '$SET$SET', env: E, want: 'valval', matched: ['SET'] },
  { input: '$SET-x $SET.x ${SET}x', env: E, want: 'val-x val.x valx', matched: ['SET'] },
  { input: '$', want: '$' },
  { input: '$-', want: '', unmatched: ['-'] },
  { input: 'cost: $5', want: 'cost: ', unmatched: ['5'] },
  { input: '${변수}', env: { 변수: 'ok' }, want: 'ok', matched: ['변수'] },

  // ${V-x} / ${V:-x}: default when unset (or, with ':', also when empty)
  { input: '${SET-d} ${EMPTY-d} ${NOPE-d}', env: E, want: 'val  d', matched: ['SET', 'EMPTY'], unmatched: ['NOPE'] },
  { input: '${SET:-d} ${EMPTY:-d} ${NOPE:-d}', env: E, want: 'val d d', matched: ['SET', 'EMPTY'], unmatched: ['NOPE'] },
  { input: '${NOPE:-}', want: '', unmatched: ['NOPE'] },
  { input: '${NOPE:-two words}', want: 'two words', unmatched: ['NOPE'] },
  { input: '${NOPE:-"quoted }"}', want: 'quoted }', unmatched: ['NOPE'] },
  { input: '${NOPE:-a\\}b}', want: 'a}b', unmatched: ['NOPE'] },
  // nested expansions: the inner names are reported too
  { input: '${a:-${b}}', env: { b: 'B' }, want: 'B', matched: ['b'], unmatched: ['a'] },
  { input: '${a:-${b:-${c}}}', env: { c: 'C' }, want: 'C', matched: ['c'], unmatched: ['a', 'b'] },
  { input: '${a:-${b}}', env: { a: 'A', b: 'B' }, want: 'A', matched: ['a', 'b'] },
  { input: 'v${TARGETVARIANT:+-${TARGETVARIANT}}', env: { TARGETVARIANT: 'v7' }, want: 'v-v7', matched: ['TARGETVARIANT'] },

  // ${V+x} / ${V:+x}: alternative when set (or, with ':', when set and non-empty)
  { input: '${SET+w} ${EMPTY+w} ${NOPE+w}', env: E, want: 'w w ', matched: ['SET', 'EMPTY'], unmatched: ['NOPE'] },
  { input: '${SET:+w} ${EMPTY:+w} ${NOPE:+w}', env: E, want: 'w  ', matched: ['SET', 'EMPTY'], unmatched: ['NOPE'] },

  // ${V?msg} / ${V:?msg}: required
  { input: '${SET?m}', env: E, want: 'val', matched: ['SET'] },
  { input: '${EMPTY?m}', env: E, want: '', matched: ['EMPTY'] },
  { input: '${NOPE?must be set}', want: /^failed to process "\$\{NOPE\?must be set\}": NOPE: must be set$/ },
  { input: '${NOPE?}', want: /NOPE: is not allowed to be unset$/ },
  { input: '${SET:?m}', env: E, want: 'val', matched: ['SET'] },
  { input: '${EMPTY:?m}', env: E, want: /: EMPTY: m$/ },
  { input: '${EMPTY:?}', env: E, want: /EMPTY: is not allowed to be empty$/ },
  { input: '${NOPE:?need $SET}', env: E, want: /NOPE: need val$/ },

  // assignment forms are not supported in a Dockerfile
  { input: '${SET=x}', env: E, want: /unsupported modifier \(=\) in substitution/ },
  { input: '${SET:=x}', env: E, want: /unsupported modifier \(:=\) in substitution/ },
  { input: '${NOPE=}', want: /unsupported modifier \(=\)/ },
  { input: '${SET!}', env: E, want: /unsupported modifier \(!\)/ },
  { input: '${SET:x}', env: E, want: /unsupported modifier \(:x\)/ },

  // ${V#p} ${V##p}: shortest / longest prefix
  { input: '${P#*/}', env: { P: 'usr/local/bin' }, want: 'local/bin', matched: ['P'] },
  { input: '${P##*/}', env: { P: 'usr/local/bin' }, want: 'bin', matched: ['P'] },
  { input: '${P#x}', env: { P: 'usr/local/bin' }, want: 'usr/local/bin', matched: ['P'] },
  { input: '${P#}', env: { P: 'abc' }, want: 'abc', matched: ['P'] },
  { input: '${P##}', env: { P: 'abc' }, want: 'abc', matched: ['P'] },
  { input: '${P#*}', env: { P: 'abc' }, want: 'abc', matched: ['P'] },
  { input: '${P##*}', env: { P: 'abc' }, want: '', matched: ['P'] },
  { input: '${P#?}', env: { P: 'héllo' }, want: 'éllo', matched: ['P'] },
  { input: '${P#??}', env: { P: 'héllo' }, want: 'llo', matched: ['P'] },
  { input: '${P#$Q}', env: { P: 'aab', Q: 'a' }, want: 'ab', matched: ['P', 'Q'] },
  { input: '${P#\\*}', env: { P: '**x' }, want: '*x', matched: ['P'] },
  { input: '${P#[a]}', env: { P: '[a]b' }, want: 'b', matched: ['P'] }, // no bracket classes: '[' is literal
  { input: '${P#.+}', env: { P: '.+x' }, want: 'x', matched: ['P'] }, // regex characters are literal
  { input: '${P#\\q}', env: { P: 'q' }, want: /invalid pattern \(\\q\) in substitution: invalid escape '\\q'/ },
  { input: '${NOPE#x}', want: '', unmatched: ['NOPE'] },

  // ${V%p} ${V%%p}: shortest / longest suffix
  { input: '${F%.*}', env: { F: 'a.tar.gz' }, want: 'a.tar', matched: ['F'] },
  { input: '${F%%.*}', env: { F: 'a.tar.gz' }, want: 'a', matched: ['F'] },
  { input: '${F%}', env: { F: 'abc' }, want: 'abc', matched: ['F'] },
  { input: '${F%%$G}', env: { F: 'abc', G: '' }, want: 'abc', matched: ['F', 'G'] },
  { input: '${F%\\*?}', env: { F: 'ab*c' }, want: 'ab', matched: ['F'] },
  { input: '${F%%\\**}', env: { F: 'x*y*' }, want: 'x', matched: ['F'] },
  { input: '${A:-.}${F%c}${A:-.}', env: { F: 'abc' }, want: '.ab.', matched: ['F'], unmatched: ['A'] },

  // ':' cannot combine with the pattern operators
  { input: '${F:#x}', want: /unsupported modifier \(:#\)/ },
  { input: '${F:##x}', want: /unsupported modifier \(:#\)/ },
  { input: '${F:%x}', want: /unsupported modifier \(:%\)/ },

  // ${V/p/r}: first (longest) match; ${V//p/r}: every match
  { input: '${U/o/0}', env: { U: 'foo boo' }, want: 'f0o boo', matched: ['U'] },
  { input: '${U//o/0}', env: { U: 'foo boo' }, want: 'f00 b00', matched: ['U'] },
  { input: '${U/o*/X}', env: { U: 'foo boo' }, want: 'fX', matched: ['U'] },
  { input: '${U//?/-}', env: { U: 'héllo' }, want: '-----', matched: ['U'] },
  { input: '${U/$N/$R}', env: { U: 'http://x.org', N: 'http://', R: 'https://' }, want: 'https://x.org', matched: ['U', 'N', 'R'] },
  { input: '${U//\\//\\/}', env: { U: '/a/b' }, want: '\\/a\\/b', matched: ['U'] }, // escapes stay raw in r
  { input: '${U//\\//:}', env: { U: '/a/b' }, want: ':a:b', matched: ['U'] },
  { input: '${U/x/y}', env: { U: 'abc' }, want: 'abc', matched: ['U'] },
  { input: '${U/$E/<}', env: { U: 'ab', E: '' }, want: '<ab', matched: ['U', 'E'] },
  { input: '${U///}', env: { U: 'ab' }, want: 'ab', matched: ['U'] },
  { input: '${NOPE///}', want: '', unmatched: ['NOPE'] },
  { input: '${U//*/X}', env: { U: 'abc' }, want: 'X', matched: ['U'] }, // no second replacement for the empty match at the end
  { input: '${U//[b]/X}', env: { U: 'a[b]c[b]' }, want: 'aXcX', matched: ['U'] },
  // '//' runs Go's regexp template over r: $0 is the match, $$ a dollar, other names nothing
  { input: "${U//o/'<$0>'}", env: { U: 'foo' }, want: 'f<o><o>', matched: ['U'] },
  { input: "${U//o/'${0}$$'}", env: { U: 'fo' }, want: 'fo$', matched: ['U'] },
  { input: "${U//o/'$x.'}", env: { U: 'fo' }, want: 'f.', matched: ['U'] },
  { input: "${U/o/'<$0>'}", env: { U: 'foo' }, want: 'f<$0>o', matched: ['U'] }, // '/' takes r literally
  { input: '${U//x}', env: { U: 'abc' }, want: /missing '\/' in \$\{\}/ },
  { input: '${U//}', env: { U: 'abc' }, want: /missing '\/' in \$\{\}/ },
  { input: '${U/a/b', env: { U: 'abc' }, want: /missing '\}'/ },

  // quotes and escapes
  { input: `'$SET' "$SET" \\$SET`, env: E, want: '$SET val $SET', matched: ['SET'] },
  { input: `"a\\"b\\$c\\\\d\\e"`, want: 'a"b$c\\d\\e' },
  { input: `it\\'s`, want: "it's" },
  { input: `a\\`, want: 'a' },
  { input: `"unterminated`, want: /unexpected end of statement while looking for matching double-quote/ },
  { input: `'unterminated`, want: /unexpected end of statement while looking for matching single-quote/ },

  // syntax errors
  { input: '${}', want: /syntax error: bad substitution/ },
  { input: '${:-x}', want: /syntax error: bad substitution/ },
  { input: '${{x}', want: /syntax error: bad substitution/ },
  { input: '${', want: /syntax error: missing '\}'/ },
  { input: '${X', want: /syntax error: missing '\}'/ },
  { input: '${X:-y', want: /syntax error: missing '\}'/ },
  { input: '${X:-${Y:?oops}', want: /syntax error: missing '\}'/ }, // as in BuildKit: an error at the end becomes this

  // backtick escape token (# escape=`)
  { input: 'C:\\dir\\$SET', env: E, opts: { escapeToken: '`' }, want: 'C:\\dir\\val', matched: ['SET'] },
  { input: 'a`$SET `"q`"', env: E, opts: { escapeToken: '`' }, want: 'a$SET "q"' },
  { input: '"a`"b`$c\\d"', opts: { escapeToken: '`' }, want: 'a"b$c\\d' },
  { input: '${X:-a`}b}', opts: { escapeToken: '`' }, want: 'a}b', unmatched: ['X'] },

  // options
  { input: `"a $SET" 'b'`, env: E, opts: { rawQuotes: true }, want: `"a val" 'b'`, matched: ['SET'] },
  { input: `a\\ b "c\\"d"`, opts: { rawEscapes: true }, want: `a\\ b c\\"d` },
  { input: `'$SET' "x"`, env: E, opts: { skipProcessQuotes: true }, want: `'val' "x"`, matched: ['SET'] },
  {
    input: '$NOPE ${NOPE} ${NOPE:-d} ${NOPE/a/b} ${NOPE//a/b} $SET',
    env: E,
    opts: { skipUnsetEnv: true },
    want: '$NOPE ${NOPE} ${NOPE:-d} ${NOPE/a/b} ${NOPE/a/b} val',
    matched: ['SET'],
    unmatched: ['NOPE'],
  },
];

function envOf(c: Case): Map<string, string> {
  return new Map(Object.entries(c.env ?? {}));
}

test('processWord: every operator, with matched and unmatched names', () => {
  const failures: string[] = [];
  for (const c of cases) {
    const lex = new ShellLex(c.opts);
    const label = `${JSON.stringify(c.input)}${c.opts ? ' ' + JSON.stringify(c.opts) : ''}`;
    try {
      const r = lex.processWord(c.input, envOf(c));
      if (c.want instanceof RegExp) {
        failures.push(`${label}: got ${JSON.stringify(r.result)}, want an error`);
        continue;
      }
      if (r.result !== c.want) failures.push(`${label}: got ${JSON.stringify(r.result)}, want ${JSON.stringify(c.want)}`);
      const m = [...r.matched].sort();
      const u = [...r.unmatched].sort();
      if (JSON.stringify(m) !== JSON.stringify([...(c.matched ?? [])].sort())) failures.push(`${label}: matched ${JSON.stringify(m)}`);
      if (JSON.stringify(u) !== JSON.stringify([...(c.unmatched ?? [])].sort())) failures.push(`${label}: unmatched ${JSON.stringify(u)}`);
    } catch (e) {
      if (!(e instanceof KilnError) || e.code !== 'ARG_EXPANSION') throw e;
      if (!(c.want instanceof RegExp)) failures.push(`${label}: threw ${e.message}`);
      else if (!c.want.test(e.message)) failures.push(`${label}: message ${JSON.stringify(e.message)} does not match ${c.want}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('errors are KilnError ARG_EXPANSION with the BuildKit message and a hint for syntax errors', () => {
  const lex = new ShellLex();
  assert.throws(
    () => lex.processWord('${V:?msg}', new Map([['V', '']])),
    (e: unknown) => e instanceof KilnError && e.code === 'ARG_EXPANSION' && e.message === 'failed to process "${V:?msg}": V: msg',
  );
  assert.throws(
    () => lex.processWord('x${}', new Map()),
    (e: unknown) => e instanceof KilnError && e.message === 'failed to process "x${}": syntax error: bad substitution' && e.details.hint !== undefined,
  );
});

test('processWords splits on unquoted whitespace after expansion', () => {
  const lex = new ShellLex();
  const env = new Map([
    ['B', 'x  y'],
    ['P', '80/tcp 443'],
  ]);
  const cases: [string, string[]][] = [
    ['a ${B} c', ['a', 'x', 'y', 'c']],
    ['a "${B}" c', ['a', 'x  y', 'c']],
    ["a'${B}'c", ['a${B}c']],
    ['$P 8080', ['80/tcp', '443', '8080']],
    ['  lead   trail  ', ['lead', 'trail']],
    ['a\\ b', ['a b']],
    ['""', []],
    ['', []],
    ['cat <<  EOF', ['cat', '<<  EOF']],
    ['a<b <c', ['a<b', '<c']],
    // BuildKit quirk: a ${..:..} expansion clears the word buffer, dropping "a" before it
    ['a${X:-b}c d', ['bc', 'd']],
    ['a ${X:-b c}', ['a', 'b', 'c']],
  ];
  for (const [input, want] of cases) assert.deepEqual(lex.processWords(input, env).words, want, input);
  const r = lex.processWords('$B $NOPE', env);
  assert.deepEqual([...r.matched], ['B']);
  assert.deepEqual([...r.unmatched], ['NOPE']);
  assert.throws(() => lex.processWords('"x', env), /double-quote/);
});

test('processWord keeps spaces and raw options also apply to processWords', () => {
  assert.equal(new ShellLex().processWord('  a   b  ', new Map()).result, '  a   b  ');
  assert.deepEqual(new ShellLex({ rawQuotes: true }).processWords(`"a b" 'c'`, new Map()).words, [`"a b"`, `'c'`]);
});

test('env may be a lookup function; undefined means unset', () => {
  const seen: string[] = [];
  const env: ShellEnv = (name) => {
    seen.push(name);
    return name === 'HOME' ? '/root' : undefined;
  };
  const r = new ShellLex().processWord('$HOME:${NOPE:-x}', env);
  assert.equal(r.result, '/root:x');
  assert.deepEqual(seen, ['HOME', 'NOPE']);
  assert.deepEqual([...r.matched], ['HOME']);
  assert.deepEqual([...r.unmatched], ['NOPE']);
});

test('a leading byte-order mark is skipped like Go text/scanner does', () => {
  assert.equal(new ShellLex().processWord('\ufeffab', new Map()).result, 'ab');
  assert.equal(new ShellLex().processWord('a\ufeffb', new Map()).result, 'a\ufeffb');
});

test('an expansion that grows past MAX_EXPANDED is an ARG_EXPANSION error, not a heap abort', () => {
  const lex = new ShellLex();
  const big = 'x'.repeat(MAX_EXPANDED / 2 + 16);
  const lookup: ShellEnv = (name) => (name === 'A' ? big : undefined);
  assert.equal(lex.processWord('${A}', lookup).result.length, MAX_EXPANDED / 2 + 16, 'large but under the limit: fine');
  assert.throws(
    () => lex.processWord('${A}${A}', lookup),
    (e: unknown) => e instanceof KilnError && e.code === 'ARG_EXPANSION' && /expands to \d+ characters, \d+ more than written, over kiln's limit/.test(e.message),
  );
});

test('text as written may be any size (a big COPY heredoc): only what expansion adds is capped, and errors show a part of it', () => {
  const lex = new ShellLex();
  const line = 'some text\u00a0with\tGo spaces\u3000and "quotes" ${A} \\$B\n';
  const text = line.repeat(Math.ceil((2 * MAX_EXPANDED) / line.length));
  const lookup: ShellEnv = (name) => (name === 'A' ? 'a' : undefined);
  const out = lex.processWord(text, lookup).result;
  assert.equal(out, line.replace('${A}', 'a').replace('"quotes"', 'quotes').replace('\\$B', '$B').repeat(Math.ceil((2 * MAX_EXPANDED) / line.length)));
  // word splitting over long plain runs: the same words as splitting the expanded line alone
  const one = lex.processWords(line, lookup).words;
  assert.deepEqual(lex.processWords(line.repeat(3), lookup).words, [...one, ...one, ...one]);
  assert.deepEqual(one, ['some', 'text', 'with', 'Go', 'spaces', 'and', 'quotes', 'a', '$B']);
  // a huge word that fails is shown cut short, not megabytes of it
  const bad = `${'x'.repeat(2 * MAX_EXPANDED)}\${oops`;
  assert.throws(
    () => lex.processWord(bad, lookup),
    (e: unknown) => e instanceof KilnError && e.code === 'ARG_EXPANSION' && e.message.length < 10_000 && /more characters/.test(e.message),
  );
});

test('${...} nested thousands deep: a thousand levels expand, far more is an ARG_EXPANSION error, not a stack overflow', () => {
  const lex = new ShellLex();
  const nest = (n: number): string => `${'${X:-'.repeat(n)}z${'}'.repeat(n)}`;
  assert.equal(lex.processWord(nest(1000), new Map()).result, 'z');
  assert.throws(
    () => lex.processWord(nest(100_000), new Map()),
    (e: unknown) => e instanceof KilnError && e.code === 'ARG_EXPANSION' && /nested too deeply/.test(e.message) && e.message.length < 10_000,
  );
});
