// `kiln debug parse` through the real CLI: a BuildKit corpus case byte for byte, JSON output,
// and a Dockerfile error's exit code and `Dockerfile:N` snippet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKiln } from './helpers/cli.js';
import { corpusDir, prereq } from './helpers/prereq.js';

const corpus = corpusDir();
const CASE = corpus === undefined ? undefined : join(corpus, 'buildkit', 'frontend', 'dockerfile', 'parser', 'testfiles', 'escapes');

test('kiln debug parse prints BuildKit dump byte for byte for a corpus case', async (t) => {
  if (!prereq(t, CASE !== undefined && existsSync(join(CASE, 'Dockerfile')), 'BuildKit parser corpus (testfiles/escapes)')) return;
  const r = await runKiln(['debug', 'parse', '--format', 'buildkit-dump', join(CASE!, 'Dockerfile')]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, readFileSync(join(CASE!, 'result'), 'utf8'));
});

test('kiln debug parse: ast json output, and a syntax error exits 1 with Dockerfile:N', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-debug-parse-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.Dockerfile');
  writeFileSync(good, 'FROM alpine\nRUN <<EOF\necho hi\nEOF\n');
  const j = await runKiln(['debug', 'parse', '--format', 'ast', good]);
  assert.equal(j.code, 0, j.stderr);
  const ast = JSON.parse(j.stdout) as { instructions: { value: string; heredocs: { name: string; content: string }[] }[] };
  assert.deepEqual(ast.instructions.map((n) => n.value), ['from', 'run']);
  assert.deepEqual(ast.instructions[1]?.heredocs.map((h) => [h.name, h.content]), [['EOF', 'echo hi\n']]);

  const bad = join(dir, 'Dockerfile');
  writeFileSync(bad, 'FROM alpine\nRUN true\nENV PATH\nUSER me\n');
  const r = await runKiln(['debug', 'parse', bad]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^Dockerfile:3\n/);
  assert.match(r.stderr, / 3 \| >>> ENV PATH\n/);
  assert.match(r.stderr, /ERROR: Dockerfile:3: ENV must have two arguments/);
  assert.doesNotMatch(r.stderr, /at parse/); // no stack for a user error

  const missing = await runKiln(['debug', 'parse', join(dir, 'nope')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /failed to read dockerfile: open .*nope: no such file or directory/);
  // read as kiln build reads a Dockerfile: /dev/zero is refused, not read until memory runs out
  const zero = await runKiln(['debug', 'parse', '/dev/zero']);
  assert.equal(zero.code, 125);
  assert.match(zero.stderr, /is larger than 16 MiB/);
});
