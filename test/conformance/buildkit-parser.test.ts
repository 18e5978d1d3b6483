// BuildKit's own parser test vectors, read in place from ../shared/corpus (never copied here):
// every testfiles/<case> must dump byte for byte like BuildKit's Node.Dump(), every
// testfiles-negative/<case> must fail with a KilnError, and testfile-line must give BuildKit's ranges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../../src/errors.js';
import { dump, parse } from '../../src/dockerfile/index.js';
import { corpusDir, prereq } from '../helpers/prereq.js';

const corpus = corpusDir();
const PARSER = corpus === undefined ? undefined : join(corpus, 'buildkit', 'frontend', 'dockerfile', 'parser');
const present = PARSER !== undefined && existsSync(join(PARSER, 'testfiles'));
const WHAT = 'BuildKit parser corpus at ../shared/corpus/buildkit/frontend/dockerfile/parser';

function cases(sub: string): string[] {
  return present ? readdirSync(join(PARSER!, sub)).sort() : [];
}

const positive = cases('testfiles');
const negative = cases('testfiles-negative');

test('the corpus is present with all its cases', (t) => {
  if (!prereq(t, present, WHAT)) return;
  assert.equal(positive.length, 33);
  assert.equal(negative.length, 4);
});

for (const name of positive) {
  test(`testfiles/${name}: dump(parse(Dockerfile)) + "\\n" equals result`, () => {
    const dir = join(PARSER!, 'testfiles', name);
    const expected = readFileSync(join(dir, 'result'), 'utf8');
    const ast = parse(readFileSync(join(dir, 'Dockerfile'), 'utf8'));
    assert.equal(dump(ast) + '\n', expected);
  });
}

for (const name of negative) {
  test(`testfiles-negative/${name}: parse fails with a located KilnError`, () => {
    const text = readFileSync(join(PARSER!, 'testfiles-negative', name, 'Dockerfile'), 'utf8');
    assert.throws(
      () => parse(text),
      (e: unknown) => e instanceof KilnError && e.location !== undefined && e.location.length > 0,
    );
  });
}

test('testfile-line: 3 instructions spanning [5,5], [11,12], [17,31]', (t) => {
  if (!prereq(t, present, WHAT)) return;
  const ast = parse(readFileSync(join(PARSER!, 'testfile-line', 'Dockerfile'), 'utf8'));
  assert.deepEqual(
    ast.instructions.map((n) => [n.range.startLine, n.range.endLine]),
    [
      [5, 5],
      [11, 12],
      [17, 31],
    ],
  );
});
