// The plan's size budget (budget.ts): a Dockerfile whose stages or RUNs would hold a quadratic
// amount of inherited config stops at the instruction that crosses the budget, and planning a
// long chain keeps only what the plan returns (no env versions of every stage).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { callInWorker } from '../../test/helpers/in-worker.js';
import { envOf, plan, runs, stageOf } from './test-support.js';

const chain = (n: number): string => ['FROM scratch AS s0', ...Array.from({ length: n - 1 }, (_, i) => `FROM s${i} AS s${i + 1}\nENV V${i + 1}=x`)].join('\n') + '\n';

test('a chain of stages that would hold too much inherited config fails at the FROM that crosses the budget', async () => {
  // stage k copies ~2k entries (Env and history): 300 stages hold ~90,000
  await assert.rejects(plan(chain(300), { maxPlanEntries: 20_000 }), (e: unknown) => {
    assert.ok(e instanceof KilnError, String(e));
    assert.equal(e.code, 'PLAN_TOO_LARGE');
    assert.match(e.message, /more than 20,000 config, history and RUN env entries/);
    const line = e.location?.[0]?.startLine ?? 0;
    // the crossing is where the running total passes 20,000: near stage 141 (line 2k), on a FROM
    assert.ok(line > 200 && line < 320, `line ${line}`);
    assert.equal(line % 2, 0, 'a FROM line');
    assert.equal(e.details.stage, `s${line / 2}`);
    return true;
  });
  // the same Dockerfile under the default budget plans, and the last stage has every ENV
  const { plan: p } = await plan(chain(300));
  assert.equal(p.stages.length, 300);
  assert.equal(stageOf(p).config.config?.Env?.length, 300); // PATH and V1..V299
});

test('RUNs under many ENVs count the env each RUN keeps', async () => {
  const lines = Array.from({ length: 400 }, (_, i) => `ENV V${i}=x\nRUN true`);
  await assert.rejects(plan(`FROM scratch\n${lines.join('\n')}\n`, { maxPlanEntries: 30_000 }), (e: KilnError) => {
    assert.equal(e.code, 'PLAN_TOO_LARGE');
    assert.match(e.details.sourceLines?.[(e.location?.[0]?.startLine ?? 1) - 1] ?? '', /^RUN true$/);
    return true;
  });
});

test('two stages FROM one parent both inherit its env (the parent lets go of it only after its last child)', async () => {
  const { plan: p } = await plan('FROM scratch AS base\nENV A=1\nARG B=2\nFROM base AS c1\nRUN echo $A $B\nFROM base AS c2\nRUN echo $A $B\nFROM scratch\nCOPY --from=c1 /x /x\nCOPY --from=c2 /y /y\n');
  for (const i of [1, 2]) {
    const env = envOf(runs(stageOf(p, i))[0]!);
    assert.equal(env.get('A'), '1');
    assert.equal(env.get('B'), '2');
  }
});

test('a chain of 2,000 stages, each adding an ENV, plans in little memory', async (t) => {
  // every stage kept every version of its env, and each version's strings, reachable from the
  // first stage: 2,000 stages needed over 200 MB of heap. The worker has 160 MB.
  const text = chain(2000);
  const got = await callInWorker<number>(
    new URL('./test-support.js', import.meta.url),
    `async ({ plan, stageOf }, text) => (await plan(text)).plan.stages.length`,
    text,
    t.signal,
    { maxOldGenerationSizeMb: 160 },
  );
  assert.equal(got, 2000);
});
