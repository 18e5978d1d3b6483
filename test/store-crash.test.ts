// Crash safety and multi-process use of the store: SIGKILL a writer at random moments (seeded)
// and check the store still verifies and accepts new work; run two writers at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, gc, loadImage, verify } from '../src/store/index.js';
import { validate } from '../src/image/index.js';
import { addRandomImage, gunzip, rng } from './helpers/random-image.js';

const WORKER = new URL('./helpers/store-worker.js', import.meta.url).pathname;

function startWorker(root: string, id: number, seed: number, iterations: number | 'forever', graceMs: number): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [WORKER, root, String(id), String(seed), String(iterations), String(graceMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

test('SIGKILL at random moments never leaves the store inconsistent', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kiln-crash-'));
  const next = rng(20261127);
  const KILLS = 24;
  let progressed = 0;
  let midWrite = 0; // kills that left a temp file or a held lock behind
  for (let k = 0; k < KILLS; k++) {
    const { child, done } = startWorker(root, k % 3, Math.floor(next() * 1e9), 'forever', 0);
    // Every third kill lands during start-up; the others once the worker has finished an iteration
    // (whatever the machine's load), then anywhere within the next iterations.
    if (k % 3 !== 0) await new Promise<void>((r) => child.stdout!.once('data', () => r()));
    await new Promise((r) => setTimeout(r, Math.floor(next() * 300)));
    child.kill('SIGKILL');
    const r = await done;
    assert.equal(r.signal, 'SIGKILL', `worker ended on its own: ${r.stderr}`);
    progressed += r.stdout.split('\n').filter(Boolean).length;
    if ((existsSync(join(root, 'tmp')) && readdirSync(join(root, 'tmp')).length > 0) || existsSync(join(root, 'kiln.lock'))) midWrite++;
    const store = Store.open(root);
    const problems = await verify(store, { lock: { timeoutMs: 5000 } });
    assert.deepEqual(problems, [], `after kill ${k}`);
  }
  assert.ok(progressed > KILLS, `the workers did some work before being killed (${progressed} iterations)`);
  assert.ok(midWrite >= 3, `some kills hit an ingest or a locked update (${midWrite} of ${KILLS})`);
  console.log(`# ${progressed} iterations, ${midWrite} of ${KILLS} kills mid-write`);
  const store = Store.open(root);
  // every name still resolves to a complete, valid image
  for (const ref of store.refs().slice(0, 6)) assert.deepEqual(await validate(await loadImage(store, ref.descriptor, { decompress: gunzip })), [], ref.name);
  // the store still works: new ingest + tag, then gc sweeps the killed writers' temp files
  const { descriptor } = await addRandomImage(store, 'after:crash', { seed: 99 });
  assert.equal(store.resolve('after:crash').digest, descriptor.digest);
  await gc(store);
  assert.deepEqual(readdirSync(store.tmpDir), []);
  assert.deepEqual(readdirSync(root).filter((n) => n.startsWith('kiln.lock')), []);
  assert.deepEqual(await verify(store), []);
});

test('two processes ingesting and tagging at once both succeed and the store verifies', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kiln-conc-'));
  const N = 15;
  const a = startWorker(root, 1, 111, N, 60_000);
  const b = startWorker(root, 2, 222, N, 60_000);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  const store = Store.open(root);
  assert.deepEqual(await verify(store), []);
  // no lost updates: each worker's last image is named
  for (const [id, r] of [[1, ra], [2, rb]] as const) {
    const last = r.stdout.trim().split('\n').pop()!.split(' ')[1];
    assert.equal(store.resolve(`w${id}/img:last`).digest, last);
    assert.equal(r.stdout.trim().split('\n').length, N);
  }
  const shared = store.resolve('shared:latest').digest;
  assert.ok([ra, rb].some((r) => r.stdout.trim().split('\n').pop()!.endsWith(shared)));
});
