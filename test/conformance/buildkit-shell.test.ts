// BuildKit's shell-lexer vectors (frontend/dockerfile/shell/envVarTest and wordsTest), read in
// place from ../shared/corpus, following the comparison rules of its README (sections 4 and 5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../../src/errors.js';
import { ShellLex } from '../../src/dockerfile/index.js';
import { goTrimSpace } from '../../src/support/index.js';
import { corpusDir, prereq } from '../helpers/prereq.js';

const corpus = corpusDir();
const SHELL = corpus === undefined ? undefined : join(corpus, 'buildkit', 'frontend', 'dockerfile', 'shell');
const WHAT = 'BuildKit shell corpus at ../shared/corpus/buildkit/frontend/dockerfile/shell';

/** Lines as Go's bufio.Scanner yields them: split on \n, a trailing \r dropped, no empty last line. */
function scanLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function readCorpus(name: string): string | undefined {
  if (SHELL === undefined || !existsSync(join(SHELL, name))) return undefined;
  return readFileSync(join(SHELL, name), 'utf8');
}

test('envVarTest: all 228 Unix vectors (A + U) expand like BuildKit ProcessWord', (t) => {
  const text = readCorpus('envVarTest');
  if (!prereq(t, text !== undefined, WHAT)) return;
  const env = new Map([
    ['PWD', '/home'],
    ['SHELL', 'bash'],
    ['KOREAN', '한국어'],
    ['NULL', ''],
  ]);
  const lex = new ShellLex({ escapeToken: '\\' });
  const counts = { A: 0, U: 0, W: 0, error: 0 };
  const failures: string[] = [];
  scanLines(text!).forEach((raw, i) => {
    if (raw.startsWith('#')) return; // before trimming
    const line = goTrimSpace(raw);
    if (line === '') return;
    const fields = line.split('|');
    assert.equal(fields.length, 3, `line ${i + 1}: ${raw}`);
    const [platform, source, expected] = fields.map(goTrimSpace) as [string, string, string];
    assert.ok(platform === 'A' || platform === 'U' || platform === 'W', `line ${i + 1}: platform ${platform}`);
    counts[platform]++;
    if (platform === 'W') return;
    let got: string;
    try {
      got = lex.processWord(source, env).result;
    } catch (e) {
      assert.ok(e instanceof KilnError && e.code === 'ARG_EXPANSION', `line ${i + 1}: ${String(e)}`);
      got = 'error';
    }
    if (expected === 'error') counts.error++;
    if (got !== expected) failures.push(`line ${i + 1}: ${JSON.stringify(source)} → ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
  });
  assert.deepEqual(failures, []);
  assert.deepEqual(counts, { A: 226, U: 2, W: 2, error: 36 });
});

test('wordsTest: all 24 cases split like BuildKit ProcessWords', (t) => {
  const text = readCorpus('wordsTest');
  if (!prereq(t, text !== undefined, WHAT)) return;
  const lex = new ShellLex();
  const env = new Map<string, string>();
  let cases = 0;
  let envLines = 0;
  const failures: string[] = [];
  scanLines(text!).forEach((line, i) => {
    if (line.startsWith('#')) return;
    if (line.startsWith('ENV ')) {
      const entry = line.slice(3).replace(/^ +/, ''); // TrimLeft: trailing spaces are kept
      const eq = entry.indexOf('=');
      env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1));
      envLines++;
      return;
    }
    const parts = line.split('|');
    assert.equal(parts.length, 2, `line ${i + 1} must have exactly one |: ${line}`);
    const input = goTrimSpace(parts[0]!);
    const expected = parts[1]!.replace(/^ +/, '').split(',');
    cases++;
    let got: string[];
    try {
      got = lex.processWords(input, env).words;
    } catch (e) {
      assert.ok(e instanceof KilnError && e.code === 'ARG_EXPANSION', String(e));
      got = ['error'];
    }
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      failures.push(`line ${i + 1}: ${JSON.stringify(input)} → ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
    }
  });
  assert.deepEqual(failures, []);
  assert.equal(cases, 24);
  assert.equal(envLines, 4);
  assert.equal(env.get('trailing'), 'ab c   ', 'the trailing spaces of wordsTest must survive');
});
