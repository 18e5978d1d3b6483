// EnvList (one shared map, rerooted to the version read) against a plain copy-on-set model, and
// planning time with tens of thousands of ENV lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvList, addEnv } from './env.js';
import { rng } from '../../test/helpers/random-image.js';
import { callInWorker } from '../../test/helpers/in-worker.js';

/** The obvious implementation: BuildKit's llb.EnvList as an array copied on every set. */
const modelSet = (m: readonly [string, string][], k: string, v: string): [string, string][] => [...m.filter(([x]) => x !== k), [k, v]];

test('EnvList: every version keeps its own contents and order, whichever version is read or extended', () => {
  const r = rng(7);
  const keys = ['A', 'B', 'C', 'D', 'PATH', 'HOME'];
  const versions: { env: EnvList; model: [string, string][] }[] = [{ env: EnvList.empty(), model: [] }];
  for (let i = 0; i < 3000; i++) {
    // extend a random version (old ones too: stages branch from their base, ARG reads the env from before it)
    const from = versions[Math.floor(r() * versions.length)]!;
    const k = keys[Math.floor(r() * keys.length)]!;
    const v = `v${i}`;
    versions.push({ env: from.env.set(k, v), model: modelSet(from.model, k, v) });
    // and read a random version in every way
    const seen = versions[Math.floor(r() * versions.length)]!;
    const probe = keys[Math.floor(r() * keys.length)]!;
    const want = seen.model.find(([x]) => x === probe)?.[1];
    assert.equal(seen.env.get(probe), want);
    assert.equal(seen.env.lookup(probe), want);
    assert.equal(seen.env.has(probe), want !== undefined);
    if (i % 10 === 0) {
      assert.deepEqual(seen.env.toArray(), seen.model.map(([a, b]) => `${a}=${b}`));
      assert.deepEqual(seen.env.keys(), seen.model.map(([a]) => a));
    }
  }
  for (const { env, model } of versions) assert.deepEqual(env.toArray(), model.map(([a, b]) => `${a}=${b}`));
});

test('EnvList: a re-set key moves last; toArray hands out a copy', () => {
  const a = EnvList.fromPairs([['A', '1'], ['B', '2']]);
  const b = a.set('A', '3');
  assert.deepEqual(b.toArray(), ['B=2', 'A=3']);
  assert.deepEqual(a.toArray(), ['A=1', 'B=2']);
  a.toArray().push('X=1');
  assert.deepEqual(a.toArray(), ['A=1', 'B=2']);
  assert.equal(EnvList.empty().get('A'), undefined);
});

test('addEnv: replaces the first entry of a key in place, else appends; a base image with a key twice keeps the second', () => {
  const env = ['PATH=/bin', 'A=1', 'A=2'];
  addEnv(env, 'A', '3');
  addEnv(env, 'B', '4');
  addEnv(env, 'B', '5');
  assert.deepEqual(env, ['PATH=/bin', 'A=3', 'A=2', 'B=5']);
  // an array changed behind addEnv's back (a push) is indexed again
  env.push('C=6');
  addEnv(env, 'C', '7');
  addEnv(env, 'PATH', '/usr/bin');
  assert.deepEqual(env, ['PATH=/usr/bin', 'A=3', 'A=2', 'B=5', 'C=7']);
});

test('50,000 ENV lines plan in seconds, not minutes', async (t) => {
  // copy-on-set planning took 2.9 s for 10k lines and grew with the square; now ~1 s for 50k. In a
  // worker, so a regression fails by the timeout instead of blocking the run.
  const lines = Array.from({ length: 50000 }, (_, i) => `ENV K${i}=v${i} X=$K${i - 1}`);
  const text = `FROM scratch AS a\n${lines.join('\n')}\nRUN echo $X\nFROM a\nARG K7=q\nRUN echo $K7\n`;
  const got = await Promise.race([
    callInWorker<{ env: number; x: string; k7: string }>(
      new URL('./test-support.js', import.meta.url),
      `async ({ plan, runs, stageOf, envOf }, text) => {
        const { plan: p } = await plan(text);
        const first = runs(stageOf(p, 0))[0];
        const last = runs(stageOf(p))[0];
        return { env: first.env.length, x: envOf(first).get('X'), k7: envOf(last).get('K7') };
      }`,
      text,
      t.signal,
    ),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('planning 50,000 ENV lines took over 20 s')), 20_000).unref()),
  ]);
  assert.deepEqual(got, { env: 50002, x: 'v49998', k7: 'q' });
});
