// `kiln debug plan` through the real CLI: the BuildPlan as JSON with unresolved base images, the
// unused build-arg warning on stderr, and a planning error rendered with its Dockerfile snippet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, runKiln } from './helpers/cli.js';

interface PlanJson {
  note: string;
  target: number;
  pruned: number[];
  warnings: string[];
  stages: { name: string; base: { kind: string; image?: { ref: string } }; steps: { kind: string; dest?: string; argv?: string[] }[]; config: { config: Record<string, unknown> } }[];
}

test('kiln debug plan prints the plan of the node-app example with unresolved bases', async () => {
  const r = await runKiln(['debug', 'plan', '--build-arg', 'foo=1', '--label', 'a=b', '--platform', 'linux/amd64', join(PROJECT_ROOT, 'examples', 'node-app', 'Dockerfile')]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as PlanJson;
  assert.match(j.note, /unresolved/);
  assert.equal(j.target, 1);
  assert.deepEqual(j.stages.map((s) => s.name), ['builder', 'stage-1']);
  assert.equal(j.stages[0]!.base.image?.ref, 'unresolved:node:20');
  assert.deepEqual(j.stages[1]!.steps.map((s) => s.kind), ['workdir', 'copy', 'copy', 'run']);
  assert.equal(j.stages[1]!.steps[1]!.dest, '/app/dist');
  assert.deepEqual(j.stages[1]!.config.config['Labels'], { a: 'b' });
  assert.deepEqual(j.warnings, ['[Warning] One or more build-args [foo] were not consumed']);
  assert.match(r.stderr, /were not consumed/);
});

test('kiln debug plan --target picks a stage; a COPY from a later stage fails with the snippet', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-plan-'));
  try {
    const file = join(dir, 'Dockerfile');
    writeFileSync(file, 'FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\nRUN true\n');
    const ok = await runKiln(['debug', 'plan', '--target', 'B', file]);
    assert.equal(ok.code, 0, ok.stderr);
    const j = JSON.parse(ok.stdout) as PlanJson;
    assert.equal(j.target, 1);
    assert.deepEqual(j.pruned, [0]);
    const bad = await runKiln(['debug', 'plan', '--target', 'a', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Dockerfile:2/);
    assert.match(bad.stderr, />>> COPY --from=b \/x \/x/);
    assert.match(bad.stderr, /cannot copy from stage "b", it needs to be defined before current stage "a"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
