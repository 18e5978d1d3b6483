// `kiln graph`: golden Mermaid and DOT output for a few Dockerfiles, through the real CLI.
// Regenerate the goldens with KILN_UPDATE_GOLDEN=1 after a deliberate format change (and review the diff).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, runKiln } from './helpers/cli.js';

const DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'graph');
const UPDATE = process.env['KILN_UPDATE_GOLDEN'] === '1';

const CASES: { name: string; args: string[] }[] = [
  { name: 'multi', args: [] },
  { name: 'multi', args: ['--target', 'test'] },
  { name: 'single', args: [] },
  { name: 'args-index', args: [] },
  { name: 'args-index', args: ['--build-arg', 'BASE=alpine:3.19', '--target', 'unused'] },
];

for (const c of CASES) {
  for (const format of ['mermaid', 'dot'] as const) {
    const golden = join(DIR, `${c.name}${c.args.length ? '.' + c.args.filter((a) => !a.startsWith('--')).join('.').replace(/[^a-z0-9.]+/gi, '_') : ''}.${format === 'dot' ? 'dot' : 'mmd'}`);
    test(`kiln graph --format ${format} ${c.args.join(' ')} ${c.name}.Dockerfile`, async () => {
      const r = await runKiln(['graph', '--format', format, ...c.args, '-f', join(DIR, `${c.name}.Dockerfile`), DIR], { env: { KILN_ROOT: '/nonexistent-kiln-root-graph-needs-no-store' } });
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
      if (UPDATE || !existsSync(golden)) {
        if (!UPDATE) assert.fail(`missing golden ${golden} (run with KILN_UPDATE_GOLDEN=1)`);
        writeFileSync(golden, r.stdout);
      }
      assert.equal(r.stdout, readFileSync(golden, 'utf8'));
    });
  }
}

test('kiln graph: an unknown --target is the planner’s error, with did-you-mean, exit 1', async () => {
  const r = await runKiln(['graph', '--target', 'tset', '-f', join(DIR, 'multi.Dockerfile'), DIR]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'ERROR: target stage "tset" could not be found\nhint: did you mean test?\n');
});
