// `kiln debug parse --format json` prints toStages() output ({metaArgs, stages}) through the real
// CLI, and a semantic Dockerfile error (found by toStages, not the parser) exits 1 with its snippet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, runKiln } from './helpers/cli.js';

const FIX = join(PROJECT_ROOT, 'test', 'fixtures');

test('kiln debug parse --format json prints the typed stages', async () => {
  const dir = join(FIX, 'dockerfile', 'from-as');
  const r = await runKiln(['debug', 'parse', '--format', 'json', join(dir, 'Dockerfile')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, readFileSync(join(dir, 'expected.json'), 'utf8'));
  const j = JSON.parse(r.stdout) as { stages: { name?: string }[] };
  assert.deepEqual(j.stages.map((s) => s.name), ['build', 'runtime', undefined]);
});

test('kiln debug parse --format json: unknown instruction exits 1 with Dockerfile:N and a suggestion', async () => {
  const dir = join(FIX, 'dockerfile-errors', 'unknown-instruction');
  const r = await runKiln(['debug', 'parse', '--format', 'json', join(dir, 'Dockerfile')]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.ok(r.stderr.includes(readFileSync(join(dir, 'expected.txt'), 'utf8').trimEnd()), r.stderr);
});
