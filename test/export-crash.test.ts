// Crash safety of `kiln import` and `kiln load` through the real CLI: SIGKILL at seeded random
// moments, then `kiln store verify` must pass and the next import must work. And two imports
// into one (new) store at once both succeed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KILN_BIN, PROJECT_ROOT, runKiln } from './helpers/cli.js';
import { rng } from './helpers/random-image.js';

function tmp(p: string): string {
  return mkdtempSync(join(tmpdir(), `kiln-xc-${p}-`));
}

/** A tree of `files` incompressible files of `size` bytes (gzip cannot make them faster). */
function bigTree(seed: number, files: number, size: number): string {
  const dir = tmp('tree');
  const next = rng(seed);
  mkdirSync(join(dir, 'data'));
  for (let i = 0; i < files; i++) {
    const b = Buffer.allocUnsafe(size);
    for (let j = 0; j < size; j += 4) b.writeUInt32LE(Math.floor(next() * 0x1_0000_0000), j);
    writeFileSync(join(dir, 'data', `f${i}.bin`), b);
  }
  writeFileSync(join(dir, 'hello'), `tree ${seed}\n`);
  return dir;
}

async function kiln(root: string, args: readonly string[]): Promise<string> {
  const r = await runKiln(args, { env: { KILN_ROOT: root } });
  assert.equal(r.code, 0, `kiln ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Starts kiln and SIGKILLs it: `ms` after the start, or (`afterIngest`) `ms` after a new temp file
 * appears in the store's tmp/ (an ingest in progress), so kills land mid-write on fast and slow
 * machines alike. Resolves with how it ended.
 */
function killAfter(root: string, args: readonly string[], ms: number, afterIngest: boolean): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const tmpDir = join(root, 'tmp');
    const before = new Set(existsSync(tmpDir) ? readdirSync(tmpDir) : []);
    const child = spawn(KILN_BIN, [...args], { cwd: PROJECT_ROOT, env: { ...process.env, KILN_ROOT: root }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    if (!afterIngest) timer = setTimeout(() => child.kill('SIGKILL'), ms);
    else {
      poll = setInterval(() => {
        const now = existsSync(tmpDir) ? readdirSync(tmpDir) : [];
        if (now.some((n) => n.startsWith('ingest-') && !before.has(n))) {
          clearInterval(poll);
          timer = setTimeout(() => child.kill('SIGKILL'), ms);
        }
      }, 5);
    }
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ killed: signal === 'SIGKILL', code, stderr });
    });
  });
}

test('SIGKILL of kiln import and kiln load at random moments never breaks the store', async () => {
  const tree = bigTree(1, 6, 2 << 20);
  // the archive to load: made once, in another store
  const other = tmp('other');
  await kiln(other, ['import', tree, 'crash/loadme:1']);
  const archive = join(tmp('archive'), 'loadme.tar');
  await kiln(other, ['save', '-o', archive, 'crash/loadme:1']);

  const root = tmp('root');
  const next = rng(20261127);
  const KILLS = 22;
  let killed = 0;
  let midWrite = 0;
  for (let k = 0; k < KILLS; k++) {
    const args = k % 2 === 0 ? ['import', tree, `crash/imported:${k}`] : ['load', '-i', archive];
    const tmpDir = join(root, 'tmp');
    const before = new Set(existsSync(tmpDir) ? readdirSync(tmpDir) : []);
    // rounds 0-1 of every 4 (one import, one load): a random moment from startup on; rounds 2-3: during an ingest
    const afterIngest = k % 4 >= 2;
    const r = await killAfter(root, args, afterIngest ? Math.floor(next() * 250) : 150 + Math.floor(next() * 900), afterIngest);
    if (r.killed) killed++;
    else assert.equal(r.code, 0, `kiln ${args.join(' ')} failed on its own: ${r.stderr}`);
    // a kill mid-write leaves a new temp file (ingest in progress) or a held lock behind
    const left = existsSync(tmpDir) ? readdirSync(tmpDir).filter((n) => !before.has(n)) : [];
    if (left.length > 0 || existsSync(join(root, 'kiln.lock'))) midWrite++;
    if (existsSync(join(root, 'oci-layout'))) assert.match(await kiln(root, ['store', 'verify']), /no problems/, `after kill ${k} (${args[0]})`);
  }
  console.log(`# ${killed} of ${KILLS} runs killed, ${midWrite} mid-write`);
  assert.ok(killed >= KILLS / 3, `many runs were killed before they finished (${killed} of ${KILLS})`);
  assert.ok(midWrite >= 5, `some kills hit a write in progress (${midWrite})`);
  // the store still works, and the killed runs' debris is collectable
  await kiln(root, ['import', tree, 'crash/after:1']);
  assert.match(await kiln(root, ['load', '-i', archive]), /Loaded image: crash\/loadme:1/);
  assert.match(await kiln(root, ['store', 'verify']), /no problems/);
  await kiln(root, ['prune']);
  assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  const names = (await kiln(root, ['images'])).split('\n').filter((l) => l.startsWith('crash/')); // familiar names, as docker shows them
  assert.ok(names.some((l) => /crash\/after\s+1\s/.test(l)) && names.some((l) => /crash\/loadme\s+1\s/.test(l)), names.join('\n'));
});

test('two kiln imports into one new store at once both succeed', async () => {
  const a = bigTree(2, 2, 1 << 20);
  const b = bigTree(3, 2, 1 << 20);
  const root = join(tmp('shared'), 'store'); // created by whichever process comes first
  const [ra, rb] = await Promise.all([
    runKiln(['import', a, 'conc/a:1'], { env: { KILN_ROOT: root } }),
    runKiln(['import', b, 'conc/b:1'], { env: { KILN_ROOT: root } }),
  ]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  const ids = JSON.parse(await kiln(root, ['inspect', 'conc/a:1', 'conc/b:1'])) as { Id: string }[];
  assert.equal(ids[0]!.Id, ra.stdout.trim());
  assert.equal(ids[1]!.Id, rb.stdout.trim());
  assert.notEqual(ids[0]!.Id, ids[1]!.Id);
  assert.match(await kiln(root, ['store', 'verify']), /2 names verified, no problems/);
});
