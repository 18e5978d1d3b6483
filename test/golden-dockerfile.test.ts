// Golden tests: every test/fixtures/dockerfile/<case>/Dockerfile goes through parse() + toStages()
// and must equal <case>/expected.json; every test/fixtures/dockerfile-errors/<case>/Dockerfile
// must fail with a KilnError whose formatError() output equals <case>/expected.txt.
// KILN_UPDATE_GOLDEN=1 rewrites the expected files (review the diff by eye before committing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, formatError } from '../src/errors.js';
import { parse, toStages } from '../src/dockerfile/index.js';
import { PROJECT_ROOT } from './helpers/cli.js';

const UPDATE = process.env['KILN_UPDATE_GOLDEN'] === '1';
const OK_DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'dockerfile');
const ERR_DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'dockerfile-errors');

function cases(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'Dockerfile')))
    .map((d) => d.name)
    .sort();
}

function compare(file: string, actual: string, what: string): void {
  if (UPDATE || !existsSync(file)) {
    if (!UPDATE) assert.fail(`${file} is missing; run with KILN_UPDATE_GOLDEN=1 to create it, then review it`);
    writeFileSync(file, actual);
    return;
  }
  assert.equal(actual, readFileSync(file, 'utf8'), `${what} differs from ${file} (KILN_UPDATE_GOLDEN=1 rewrites it)`);
}

test('golden Dockerfiles: parse + toStages match expected.json', () => {
  const names = cases(OK_DIR);
  assert.ok(names.length >= 25, `expected at least 25 golden cases, found ${names.length}`);
  for (const name of names) {
    const text = readFileSync(join(OK_DIR, name, 'Dockerfile'), 'utf8');
    let json: string;
    try {
      json = `${JSON.stringify(toStages(parse(text, { file: 'Dockerfile' })), null, 2)}\n`;
    } catch (e) {
      assert.fail(`${name}: ${e instanceof KilnError ? formatError(e) : String(e)}`);
    }
    compare(join(OK_DIR, name, 'expected.json'), json, name);
  }
});

test('error Dockerfiles: a located KilnError rendered exactly as expected.txt', () => {
  const names = cases(ERR_DIR);
  assert.ok(names.length >= 14, `expected at least 14 error cases, found ${names.length}`);
  for (const name of names) {
    const text = readFileSync(join(ERR_DIR, name, 'Dockerfile'), 'utf8');
    let err: unknown;
    try {
      toStages(parse(text, { file: 'Dockerfile' }));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof KilnError, `${name}: expected a KilnError, got ${err === undefined ? 'success' : String(err)}`);
    assert.ok(err.location && err.location.length > 0, `${name}: error has no location`);
    compare(join(ERR_DIR, name, 'expected.txt'), `${formatError(err)}\n`, name);
  }
});
