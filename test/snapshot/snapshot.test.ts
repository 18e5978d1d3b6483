// Snapshots on real overlayfs (and the copy fallback) with real runc RUN steps: exact diffs
// (adds, modifies, whiteouts, opaque dirs), stacking past the mount-option page limit, read-only
// views, crash cleanup, and no mount left behind after any test.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  CopySnapshotter,
  OverlaySnapshotter,
  createSnapshotter,
  mountsUnder,
  probeOverlay,
  type Snapshotter,
  type SnapshotId,
} from '../../src/snapshot/index.js';
import { RuncRuntime, findRuntime, type ProcessSpec } from '../../src/exec/index.js';
import { applyLayer, writeChanges, type Change } from '../../src/layer/index.js';
import { lstatSync, readlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isRoot, prereq, which } from '../helpers/prereq.js';
import { haveBusybox, makeBusyboxRootfs } from '../helpers/busybox-rootfs.js';
import { PROJECT_ROOT } from '../helpers/cli.js';

const ready = isRoot && which('runc') !== undefined && haveBusybox();
const missing = 'root, overlayfs, runc and busybox-static (run as root: bash scripts/ensure-deps.sh)';

const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

function sh(script: string): ProcessSpec {
  return { args: ['/bin/sh', '-c', script], env: [], cwd: '/', user: { uid: 0, gid: 0, home: '/root' }, network: 'none' };
}

/** The base image: busybox plus some files to change. */
function fillBase(dir: string): void {
  makeBusyboxRootfs(dir);
  // Like every real base image: the mount point dirs exist (RUN keeps the ones runc creates).
  for (const d of ['dev', 'proc', 'sys']) mkdirSync(join(dir, d), { recursive: true });
  mkdirSync(join(dir, 'data', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'data', 'a'), 'a');
  writeFileSync(join(dir, 'data', 'b'), 'b');
  writeFileSync(join(dir, 'data', 'sub', 'c'), 'c');
  mkdirSync(join(dir, 'keep'));
  writeFileSync(join(dir, 'keep', 'x'), 'x');
  writeFileSync(join(dir, 'keep', 'y'), 'y');
  writeFileSync(join(dir, 'etc', 'conf'), 'v1\n');
  writeFileSync(join(dir, 'gone.txt'), 'bye');
}

const STEP =
  'echo new > /new.txt; echo v2 >> /etc/conf; rm /gone.txt; rm -rf /data; mkdir /data; echo n > /data/n; ' +
  'mkdir -p /newdir/sub; touch /newdir/sub/f; rm /keep/x; cat /etc/hosts /etc/resolv.conf > /dev/null';

/** type, mode, owner and content of every path in a tree (not times: tar keeps whole seconds). */
function treeListing(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const p = rel === '' ? name : `${rel}/${name}`;
    const st = lstatSync(join(root, p));
    let what = '';
    if (st.isFile()) what = createHash('sha256').update(readFileSync(join(root, p))).digest('hex').slice(0, 12);
    else if (st.isSymbolicLink()) what = `-> ${readlinkSync(join(root, p))}`;
    out.push(`${p} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${what}`);
    if (st.isDirectory()) out.push(...treeListing(root, p));
  }
  return out;
}

function fmt(changes: readonly Change[]): string[] {
  return changes.map((c) => `${c.kind} ${c.path}${c.opaque ? ' (opaque)' : ''}`);
}

describe('snapshotters', () => {
  let work = '';
  let state = '';
  let rt: RuncRuntime;

  before(() => {
    if (!ready) return;
    work = mkdtempSync(join(tmpdir(), 'kiln-snap-test-'));
    state = join(work, 'state');
    rt = new RuncRuntime({ runtimePath: findRuntime(), stateDir: state });
  });
  afterEach(() => {
    if (!ready) return;
    assert.deepEqual(mountsUnder(work), [], 'no mounts left under the state dir');
  });
  after(async () => {
    if (!ready) return;
    assert.deepEqual(await rt.list(), []);
    rmSync(work, { recursive: true, force: true });
  });

  async function runStep(s: Snapshotter, parent: SnapshotId, script: string): Promise<{ id: SnapshotId }> {
    const active = await s.prepare(parent);
    try {
      await rt.run(sh(script), active.rootfs, { stdout: sink(), stderr: sink() }, new AbortController().signal);
      return { id: await s.commit(active) };
    } catch (e) {
      await active.release();
      throw e;
    }
  }

  test('overlay: a RUN step diff lists exactly its adds, modifies, deletes and opaque dirs', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const s = await createSnapshotter(join(state, 'ovl1'), { kind: 'overlay' });
    assert.equal(s.backend, 'overlay');
    const base = await s.importLayer(null, async (dir, mode) => {
      assert.equal(mode, 'overlay');
      fillBase(dir);
    });
    const active = await s.prepare(base);
    await rt.run(sh(STEP), active.rootfs, { stdout: sink(), stderr: sink() }, new AbortController().signal);
    const expected = [
      'modify data (opaque)',
      'add data/n',
      'modify etc',
      'modify etc/conf',
      'delete gone.txt',
      'modify keep',
      'delete keep/x',
      'add new.txt',
      'add newdir',
      'add newdir/sub',
      'add newdir/sub/f',
    ];
    const d = await s.diff(active);
    assert.deepEqual(fmt(d.changes), expected);
    // the per-run files were bind-mounted, never written into the layer
    assert.equal(existsSync(join(d.root, 'etc', 'hosts')), false);
    assert.equal(existsSync(join(d.root, 'etc', 'resolv.conf')), false);
    assert.equal(readFileSync(join(d.root, 'etc', 'conf'), 'utf8'), 'v1\nv2\n');
    const id = await s.commit(active);
    assert.deepEqual(fmt((await s.diff(id)).changes), expected, 'same diff after commit');

    // a RUN that changes nothing leaves an empty diff (mount stubs and copied-up dirs do not count)
    const noop = await runStep(s, id, 'true');
    assert.deepEqual(fmt((await s.diff(noop.id)).changes), []);

    // a read-only view of the committed chain
    const v = await s.view(id);
    try {
      assert.equal(readFileSync(join(v.path, 'data', 'n'), 'utf8'), 'n\n');
      assert.deepEqual(readdirSync(join(v.path, 'data')), ['n']);
      assert.equal(existsSync(join(v.path, 'gone.txt')), false);
      assert.throws(() => writeFileSync(join(v.path, 'x'), 'x'), /EROFS/);
    } finally {
      await v.release();
    }
    await s.remove(noop.id);
    await assert.rejects(s.remove(base), /still has children/);
    // removeMany (prune): a parent given before its child is skipped, children first works
    const extra = await runStep(s, id, 'true');
    assert.deepEqual(await s.removeMany([base, extra.id]), [extra.id], 'base still has id on it');
    assert.deepEqual(await s.removeMany([id, base]), [id, base]);
    assert.throws(() => s.parent(base), /does not exist/);
  });

  test('overlay: diffs look through the whole lower stack (whiteouts and opaque dirs of middle layers)', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const s = new OverlaySnapshotter(join(state, 'stack3'));
    const base = await s.importLayer(null, async (dir) => fillBase(dir));
    const one = await runStep(s, base, 'rm -rf /data /gone.txt; mkdir /data; echo n > /data/n');
    assert.deepEqual(fmt((await s.diff(one.id)).changes), ['modify data (opaque)', 'add data/n', 'delete gone.txt']);
    const two = await runStep(s, one.id, 'rm /data/n; echo a > /data/a; echo back > /gone.txt; rm /keep/y; rm -rf /data/sub');
    assert.deepEqual(fmt((await s.diff(two.id)).changes), [
      'modify data',
      'add data/a', // base's data/a is hidden by layer one's opaque /data
      'delete data/n',
      'add gone.txt', // base's gone.txt is whited out in layer one
      'modify keep',
      'delete keep/y',
    ]);
  });

  test('copy fallback: the same step gives the equivalent walk-compare diff', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const s = await createSnapshotter(join(state, 'copy1'), { kind: 'copy' });
    assert.ok(s instanceof CopySnapshotter);
    const base = await s.importLayer(null, async (dir, mode) => {
      assert.equal(mode, 'delete');
      fillBase(dir);
    });
    const { id } = await runStep(s, base, STEP);
    assert.deepEqual(fmt((await s.diff(id)).changes), [
      'modify data',
      'delete data/a',
      'delete data/b',
      'add data/n',
      'delete data/sub',
      'modify etc',
      'modify etc/conf',
      'delete gone.txt',
      'modify keep',
      'delete keep/x',
      'add new.txt',
      'add newdir',
      'add newdir/sub',
      'add newdir/sub/f',
    ]);
    const noop = await runStep(s, id, 'true');
    assert.deepEqual(fmt((await s.diff(noop.id)).changes), []);
  });

  for (const kind of ['overlay', 'copy'] as const) {
    test(`${kind}: diff → layer tar → applyLayer on the parent reproduces the step`, async (t) => {
      if (!prereq(t, ready, missing)) return;
      const s = await createSnapshotter(join(state, `roundtrip-${kind}`), { kind });
      const base = await s.importLayer(null, async (dir) => fillBase(dir));
      const { id } = await runStep(s, base, STEP + '; ln -s /etc/conf /data/link; chmod 600 /new.txt; chown 1000:1000 /newdir');
      const d = await s.diff(id);
      const copy = await s.importLayer(base, (dir, whiteouts, signal) =>
        applyLayer(writeChanges(d.root, d.changes), dir, { whiteouts, signal }).then(() => undefined),
      );
      const [a, b] = [await s.view(id), await s.view(copy)];
      try {
        const want = treeListing(a.path);
        assert.ok(want.some((l) => l.startsWith('data/link ')));
        assert.deepEqual(treeListing(b.path), want);
      } finally {
        await a.release();
        await b.release();
      }
    });
  }

  test('overlay: 60 stacked snapshots mount (relative lowerdirs); long chains get flattened', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const root = join(state, 'a-long-state-directory-name-like-var-lib-kiln-state');
    const s = new OverlaySnapshotter(root);
    let parent: SnapshotId | null = null;
    for (let i = 0; i < 60; i++) {
      const a = await s.prepare(parent);
      writeFileSync(join(a.rootfs, `f${i}`), String(i));
      if (i === 30) rmSync(join(a.rootfs, 'f0'));
      parent = await s.commit(a);
    }
    const top = parent!;
    const check = (dir: string): void => {
      const names = readdirSync(dir).sort();
      assert.equal(names.length, 59);
      assert.equal(existsSync(join(dir, 'f0')), false);
      assert.equal(readFileSync(join(dir, 'f59'), 'utf8'), '59');
    };
    const a = await s.prepare(top);
    check(a.rootfs);
    await a.release();
    // absolute lowerdirs would have needed 60 × ~70 bytes > one page
    assert.ok(60 * join(root, 'snapshots', top, 'fs').length > 4096);

    // force flattening with a tiny option budget: same content, and the flat copy is reused
    const small = new OverlaySnapshotter(root, { maxOptionBytes: 300 });
    const [b, b2] = await Promise.all([small.prepare(top), small.prepare(top)]);
    check(b2.rootfs);
    await b2.release();
    const metas = readdirSync(join(root, 'snapshots')).filter((n) => n !== 'empty');
    const flats = metas.filter((n) => JSON.parse(readFileSync(join(root, 'snapshots', n, 'meta.json'), 'utf8')).flatOf !== undefined);
    assert.ok(flats.length >= 1 && flats.length <= 3, `flat layers: ${flats.length}`);
    check(b.rootfs);
    writeFileSync(join(b.rootfs, 'g'), 'g');
    const child = await small.commit(b);
    assert.deepEqual(fmt((await small.diff(child)).changes), ['add g']);
    const c = await small.prepare(child);
    assert.equal(readdirSync(c.rootfs).length, 60);
    await c.release();
    const v = await small.view(top);
    check(v.path);
    await v.release();
  });

  test('releaseAll unmounts everything; cleanupStale removes what a killed kiln left', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const root = join(state, 'crash');
    const s = new OverlaySnapshotter(root);
    const base = await s.importLayer(null, (dir) => {
      makeBusyboxRootfs(dir);
      return Promise.resolve();
    });
    await s.prepare(base);
    await s.view(base);
    assert.equal(mountsUnder(root).length, 2);
    await s.releaseAll();
    assert.deepEqual(mountsUnder(root), []);

    // a separate kiln process prepares a snapshot, starts a container in it, and is SIGKILLed
    const script = `
      const { OverlaySnapshotter } = await import(${JSON.stringify(join(PROJECT_ROOT, 'dist/src/snapshot/index.js'))});
      const { RuncRuntime } = await import(${JSON.stringify(join(PROJECT_ROOT, 'dist/src/exec/index.js'))});
      const s = new OverlaySnapshotter(${JSON.stringify(root)});
      const a = await s.prepare(${JSON.stringify(base)});
      const rt = new RuncRuntime({ runtimePath: ${JSON.stringify(findRuntime())}, stateDir: ${JSON.stringify(state)} });
      await rt.run({ args: ['/bin/sh', '-c', 'echo ready; exec sleep 1000'], env: [], cwd: '/', user: { uid: 0, gid: 0 }, network: 'none' },
        a.rootfs, { stdout: process.stdout, stderr: process.stderr }, new AbortController().signal);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('ready')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`helper exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    assert.equal(mountsUnder(root).length, 1, 'the killed process left its rootfs mounted');
    assert.equal((await rt.list()).length, 1, 'and its container running');

    const containers = await rt.cleanupStale();
    assert.equal(containers.length, 1);
    const cleaned = await s.cleanupStale();
    assert.ok(cleaned.length >= 2, `cleaned ${cleaned.join(', ')}`);
    assert.deepEqual(mountsUnder(root), []);
    assert.deepEqual(await rt.list(), []);
    assert.deepEqual(readdirSync(join(root, 'snapshots')).sort(), [base, 'empty'].sort());
    assert.deepEqual(readdirSync(join(root, 'views')), []);
  });

  test('auto: a successful overlay probe is remembered per kernel; a killed probe\'s mount is cleaned', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const root = join(state, 'auto1');
    // a probe dir of a dead pid, still mounted, as a kiln killed mid-probe leaves it
    const dead = join(root, 'probe-999999999-0badc0de');
    for (const d of ['l1', 'u', 'w', 'm']) mkdirSync(join(dead, d), { recursive: true });
    const m = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${join(dead, 'l1')},upperdir=${join(dead, 'u')},workdir=${join(dead, 'w')}`, join(dead, 'm')]);
    assert.equal(m.status, 0, String(m.stderr));
    const s1 = await createSnapshotter(root);
    assert.equal(s1.backend, 'overlay');
    assert.deepEqual(mountsUnder(dead), [], 'the dead probe\'s mount is gone');
    assert.equal(existsSync(dead), false, 'and its dir');
    const remembered = JSON.parse(readFileSync(join(root, 'backend.json'), 'utf8')) as { kind: string; kernel: string; volatile: boolean };
    assert.deepEqual(remembered, { kind: 'overlay', kernel: release(), volatile: remembered.volatile });
    assert.equal(typeof remembered.volatile, 'boolean', 'whether the kernel takes `volatile` (test/snapshot/durability.test.ts)');
    // remembered: no probe runs. With the dir immutable a probe could not create its dirs and
    // 'auto' would fall back to copy; the remembered answer still says overlay.
    assert.equal(spawnSync('chattr', ['+i', root]).status, 0);
    try {
      assert.equal((await probeOverlay(root)).ok, false, 'a probe fails in an immutable dir');
      assert.equal((await createSnapshotter(root)).backend, 'overlay');
    } finally {
      spawnSync('chattr', ['-i', root]);
    }
    // another kernel: probe again (and rewrite the record)
    writeFileSync(join(root, 'backend.json'), JSON.stringify({ kind: 'overlay', kernel: '0.0.0-other' }));
    await createSnapshotter(root);
    assert.equal((JSON.parse(readFileSync(join(root, 'backend.json'), 'utf8')) as { kernel: string }).kernel, release());
  });
});
