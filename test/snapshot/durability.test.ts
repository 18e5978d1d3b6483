// Commits that do not wait for the disk (src/snapshot/durability.ts): writable overlays are
// mounted `volatile`, every commit is stamped with the boot, a snapshot of an earlier boot counts
// only when a finished sync covered it, and a process that committed starts that sync when it
// exits.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSnapshotter, OverlaySnapshotter } from '../../src/snapshot/index.js';
import { BOOT_ID, markerPath } from '../../src/snapshot/durability.js';
import { isRoot, prereq } from '../helpers/prereq.js';
import { PROJECT_ROOT } from '../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'kiln-durability-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(work, String(++n));

function meta(root: string, id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(root, 'snapshots', id, 'meta.json'), 'utf8')) as Record<string, unknown>;
}

async function commitOne(s: OverlaySnapshotter, parent: string | null = null): Promise<string> {
  const a = await s.prepare(parent);
  writeFileSync(join(a.rootfs, 'f'), 'data');
  return s.commit(a);
}

test('writable overlays are mounted volatile where the kernel has it, and remembered so', async (t) => {
  if (!prereq(t, isRoot, 'root and overlayfs')) return;
  const root = fresh();
  const s = await createSnapshotter(root);
  assert.equal(s.backend, 'overlay');
  const backend = JSON.parse(readFileSync(join(root, 'backend.json'), 'utf8')) as { volatile?: boolean };
  const [major, minor] = (spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.match(/^(\d+)\.(\d+)/) ?? []).slice(1).map(Number);
  const expected = major! > 5 || (major === 5 && minor! >= 10);
  assert.equal(backend.volatile, expected, 'volatile probed (Linux 5.10+)');
  const a = await s.prepare(null);
  try {
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === a.rootfs);
    assert.ok(line, 'the active snapshot is mounted');
    // shown as `volatile`, or `fsync=volatile` by newer kernels
    assert.equal(/[ ,](fsync=)?volatile(,|$)/.test(line.split(' - ')[1] ?? ''), expected, line);
  } finally {
    await a.release();
  }
});

test('a commit is stamped with the boot; an earlier boot\'s snapshot counts only when a sync covered it', async (t) => {
  if (!prereq(t, isRoot, 'root and overlayfs')) return;
  const root = fresh();
  const s = new OverlaySnapshotter(root, { volatile: true });
  const id = await commitOne(s);
  const child = await commitOne(s, id);
  const m = meta(root, id);
  assert.equal(m['boot'], BOOT_ID);
  assert.ok(BigInt(m['t'] as string) < BigInt(meta(root, child)['t'] as string), 'stamps grow with commit order');

  // pretend both were committed in an earlier boot that crashed before its sync finished
  const other = '00000000-0000-4000-8000-000000000000';
  for (const [i, tt] of [[id, '100'], [child, '200']] as const) {
    writeFileSync(join(root, 'snapshots', i, 'meta.json'), JSON.stringify({ ...meta(root, i), boot: other, t: tt }));
  }
  const after1 = new OverlaySnapshotter(root);
  assert.throws(() => after1.parent(id), /does not exist/);
  // a sync that started between the two commits covers the first only
  writeFileSync(markerPath(root, other), '150\n');
  const after2 = new OverlaySnapshotter(root);
  assert.equal(after2.parent(id), null);
  assert.throws(() => after2.parent(child), /does not exist/);
  // the stale-state cleanup deletes the uncovered one (debris older than a minute)
  const old = Date.now() / 1000 - 600;
  utimesSync(join(root, 'snapshots', child), old, old);
  const cleaned = await after2.cleanupStale();
  assert.ok(cleaned.includes(child), `cleaned ${cleaned.join(', ')}`);
  assert.equal(existsSync(join(root, 'snapshots', child)), false);
  assert.equal(existsSync(join(root, 'snapshots', id, 'fs', 'f')), true);
  const v = await after2.view(id);
  try {
    assert.equal(readFileSync(join(v.path, 'f'), 'utf8'), 'data');
  } finally {
    await v.release();
  }
});

test('a process that committed leaves a background sync that marks its commits durable', async (t) => {
  if (!prereq(t, isRoot, 'root and overlayfs')) return;
  const root = fresh();
  const script = `
    import { OverlaySnapshotter } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/src/snapshot/index.js'))};
    import { writeFileSync } from 'node:fs';
    const s = new OverlaySnapshotter(${JSON.stringify(root)}, { volatile: true });
    const a = await s.prepare(null);
    writeFileSync(a.rootfs + '/f', 'x'.repeat(1 << 20));
    console.log(await s.commit(a));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const id = r.stdout.trim();
  const t0 = BigInt(meta(root, id)['t'] as string);
  const marker = markerPath(root, BOOT_ID);
  assert.ok(existsSync(marker), 'the committing process made the marker (the syncer never creates files)');
  const value = () => BigInt(readFileSync(marker, 'utf8').trim());
  const deadline = Date.now() + 20_000;
  while (value() < t0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  assert.ok(value() >= t0, 'the detached sync recorded a time that covers the commit');
  assert.equal(readFileSync(marker, 'utf8').length, 21, 'fixed width, overwritten in place');
});

test('an rm -rf of the state dir right after the committing process exits does not race the syncer', async (t) => {
  if (!prereq(t, isRoot, 'root and overlayfs')) return;
  for (let i = 0; i < 5; i++) {
    const root = fresh();
    const script = `
      import { OverlaySnapshotter } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/src/snapshot/index.js'))};
      const s = new OverlaySnapshotter(${JSON.stringify(root)}, { volatile: true });
      await s.commit(await s.prepare(null));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rm = spawnSync('rm', ['-rf', root], { encoding: 'utf8' });
    assert.equal(rm.status, 0, rm.stderr);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(existsSync(root), false, 'nothing re-created by the syncer');
  }
});

test('the stale cleanup reads the few half-made snapshots (active/), every snapshot only once per boot', async (t) => {
  if (!prereq(t, isRoot, 'root and overlayfs')) return;
  const root = fresh();
  const s = new OverlaySnapshotter(root, { volatile: true });
  assert.deepEqual(await s.cleanupStale(), [], 'the first cleanup of a boot scans everything: nothing to do');
  const scanned = join(root, `scanned-${BOOT_ID}`);
  assert.ok(existsSync(scanned));
  const kept = await commitOne(s);
  assert.deepEqual(readdirSync(join(root, 'active')), [], 'a committed snapshot leaves no marker');

  // two snapshots a killed kiln (pid 999999999) left active, one with its marker, one without
  const dead = { parent: null, state: 'active' as const, pid: 999_999_999 };
  const withMarker = (s as unknown as { meta: { create(m: object): string } }).meta.create(dead);
  const without = (s as unknown as { meta: { create(m: object): string } }).meta.create(dead);
  rmSync(join(root, 'active', without));
  const cleaned = await s.cleanupStale();
  assert.deepEqual(cleaned.filter((c) => !c.startsWith('/')), [withMarker], 'only the marked one is looked at');
  assert.equal(existsSync(join(root, 'snapshots', without)), true);
  // a new boot (no scanned-<boot>): everything is read again
  rmSync(scanned);
  assert.deepEqual((await s.cleanupStale()).filter((c) => !c.startsWith('/')), [without]);
  assert.equal(s.parent(kept), null, 'committed snapshots stay');
  assert.deepEqual(readdirSync(join(root, 'active')), []);
});
