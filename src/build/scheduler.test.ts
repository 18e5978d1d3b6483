import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { runGraph, reachable, type Job } from './scheduler.js';
import { KilnError } from '../errors.js';

function recorder() {
  let running = 0;
  let peak = 0;
  const started: string[] = [];
  const finished: string[] = [];
  const job = (id: string, deps: string[], ms: number, fail = false): Job<string> => ({
    id,
    deps,
    async run(inputs, signal) {
      running++;
      peak = Math.max(peak, running);
      started.push(id);
      try {
        await sleep(ms, undefined, { signal });
        if (fail) throw new KilnError('RUN_FAILED', `${id} failed`);
        finished.push(id);
        return `${id}(${inputs.join(',')})`;
      } finally {
        running--;
      }
    },
  });
  return { job, started, finished, peak: () => peak };
}

test('runs only what the target reaches, deps first, results threaded through', async () => {
  const r = recorder();
  const jobs = new Map<string, Job<string>>([
    ['a', r.job('a', [], 5)],
    ['b', r.job('b', ['a'], 5)],
    ['unused', r.job('unused', [], 5)],
    ['c', r.job('c', ['a', 'b'], 5)],
  ]);
  const out = await runGraph(jobs, ['c'], { concurrency: 4 });
  assert.equal(out.get('c'), 'c(a(),b(a()))');
  assert.ok(!r.started.includes('unused'));
  assert.deepEqual(r.finished, ['a', 'b', 'c']);
});

test('independent jobs overlap, bounded by concurrency', async () => {
  const r = recorder();
  const jobs = new Map<string, Job<string>>();
  for (const id of ['x1', 'x2', 'x3', 'x4']) jobs.set(id, r.job(id, [], 30));
  jobs.set('final', r.job('final', ['x1', 'x2', 'x3', 'x4'], 1));
  await runGraph(jobs, ['final'], { concurrency: 2 });
  assert.equal(r.peak(), 2);

  const r2 = recorder();
  const jobs2 = new Map<string, Job<string>>([
    ['p', r2.job('p', [], 30)],
    ['q', r2.job('q', [], 30)],
    ['f', r2.job('f', ['p', 'q'], 1)],
  ]);
  await runGraph(jobs2, ['f'], { concurrency: 1 });
  assert.equal(r2.peak(), 1);
});

test('the first failure aborts running siblings and is the error thrown', async () => {
  const r = recorder();
  const jobs = new Map<string, Job<string>>([
    ['slow', r.job('slow', [], 2000)],
    ['bad', r.job('bad', [], 10, true)],
    ['after', r.job('after', ['bad'], 1)],
    ['final', r.job('final', ['slow', 'after'], 1)],
  ]);
  const t0 = Date.now();
  await assert.rejects(runGraph(jobs, ['final'], { concurrency: 4 }), /bad failed/);
  assert.ok(Date.now() - t0 < 1500, 'slow sibling was aborted');
  assert.ok(!r.started.includes('after'));
  assert.ok(!r.finished.includes('slow'));
});

test('an outer abort stops the graph with ABORTED', async () => {
  const r = recorder();
  const jobs = new Map<string, Job<string>>([['long', r.job('long', [], 5000)]]);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(runGraph(jobs, ['long'], { concurrency: 1, signal: ac.signal }), (e: unknown) => e instanceof KilnError && e.code === 'ABORTED');
});

test('cycles are reported with the path', () => {
  const noop = async (): Promise<string> => '';
  const jobs = new Map<string, Job<string>>([
    ['a', { id: 'a', deps: ['b'], run: noop }],
    ['b', { id: 'b', deps: ['a'], run: noop }],
  ]);
  assert.throws(() => reachable(jobs, ['a']), /circular dependency: a -> b -> a/);
  // the path shown starts where the cycle does; an unknown dep names who needs it
  const three = new Map<string, Job<string>>([
    ['x', { id: 'x', deps: ['a'], run: noop }],
    ['a', { id: 'a', deps: ['b'], run: noop }],
    ['b', { id: 'b', deps: ['c'], run: noop }],
    ['c', { id: 'c', deps: ['a'], run: noop }],
  ]);
  assert.throws(() => reachable(three, ['x']), /circular dependency: a -> b -> c -> a$/);
  assert.throws(() => reachable(new Map([['x', { id: 'x', deps: ['nope'], run: noop }]]), ['x']), /unknown job nope \(needed by x\)/);
});

test('a chain of 100,000 jobs: deps listed first, no stack overflow', () => {
  const noop = async (): Promise<string> => '';
  const n = 100_000;
  const jobs = new Map<string, Job<string>>();
  for (let i = 0; i < n; i++) jobs.set(`j${i}`, { id: `j${i}`, deps: i > 0 ? [`j${i - 1}`] : [], run: noop });
  const order = reachable(jobs, [`j${n - 1}`]);
  assert.equal(order.length, n);
  assert.equal(order[0], 'j0');
  assert.equal(order[n - 1], `j${n - 1}`);
  // a diamond: each job once, after both of its deps
  const d = new Map<string, Job<string>>([
    ['top', { id: 'top', deps: ['l', 'r'], run: noop }],
    ['l', { id: 'l', deps: ['base'], run: noop }],
    ['r', { id: 'r', deps: ['base'], after: ['l'], run: noop }],
    ['base', { id: 'base', deps: [], run: noop }],
  ]);
  assert.deepEqual(reachable(d, ['top']), ['base', 'l', 'r', 'top']);
});

test('a soft dependency (after) starts the job early; waitFor gives up the slot, so one slot does not deadlock', async () => {
  for (const concurrency of [1, 2]) {
    const events: string[] = [];
    const jobs = new Map<string, Job<string>>([
      ['builder', { id: 'builder', deps: [], run: async (_i, signal) => { events.push('builder start'); await sleep(40, undefined, { signal }); events.push('builder end'); return 'dist'; } }],
      [
        'final',
        {
          id: 'final',
          deps: [],
          after: ['builder'],
          run: async (_i, signal, waitFor) => {
            events.push('final start');
            await sleep(5, undefined, { signal });
            events.push('final early step');
            const got = await waitFor('builder');
            events.push(`final got ${got}`);
            return `image(${got})`;
          },
        },
      ],
    ]);
    const out = await runGraph(jobs, ['final'], { concurrency });
    assert.equal(out.get('final'), 'image(dist)');
    assert.ok(events.indexOf('final got dist') > events.indexOf('builder end'), events.join(', '));
    if (concurrency === 2) assert.ok(events.indexOf('final early step') < events.indexOf('builder end'), `early steps overlap the builder: ${events.join(', ')}`);
  }
});

test('waitFor refuses ids that are not declared dependencies', async () => {
  const jobs = new Map<string, Job<string>>([
    ['x', { id: 'x', deps: [], run: async () => 'x' }],
    ['y', { id: 'y', deps: [], run: async (_i, _s, waitFor) => waitFor('x') }],
    ['top', { id: 'top', deps: ['x', 'y'], run: async () => 'top' }],
  ]);
  await assert.rejects(runGraph(jobs, ['top'], { concurrency: 2 }), /not among its dependencies/);
});
