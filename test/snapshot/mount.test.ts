// The mount helpers on both paths: the native helper (native/kiln_sys.c, mount(2)/umount2(2)),
// which CI must have built, and the mount(8)/umount(8) fallback (KILN_NATIVE=0, in a child
// process because the choice is made once per process).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMounted, mountBindReadOnly, mountOverlay, splitMountOptions, unmount } from '../../src/snapshot/mount.js';
import { MS_NODEV, MS_NOSUID, MS_RDONLY, nativeLoadError, nativeSys } from '../../src/support/index.js';
import { isKilnError } from '../../src/errors.js';
import { needRoot, prereq } from '../helpers/prereq.js';

/** Two lower dirs, an upper and a work dir under a fresh temp dir (relative names: lo1, lo2, up, wk). */
function layers(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-mount-'));
  for (const d of ['lo1', 'lo2', 'up', 'wk', 'mnt']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'lo1', 'a'), 'new a');
  writeFileSync(join(dir, 'lo2', 'a'), 'old a');
  writeFileSync(join(dir, 'lo2', 'b'), 'b');
  return dir;
}

describe('splitMountOptions', () => {
  test('generic options become flags, the rest stays data in order', () => {
    assert.deepEqual(splitMountOptions('ro,lowerdir=a:b,nosuid,upperdir=u,nodev'), { flags: MS_RDONLY | MS_NOSUID | MS_NODEV, data: 'lowerdir=a:b,upperdir=u' });
    assert.deepEqual(splitMountOptions('lowerdir=x,upperdir=y,workdir=z,volatile'), { flags: 0, data: 'lowerdir=x,upperdir=y,workdir=z,volatile' });
    assert.deepEqual(splitMountOptions('rw,lowerdir=x'), { flags: 0, data: 'lowerdir=x' });
  });
});

describe('native mount helper', () => {
  test('is built (CI must not measure or test the mount(8) fallback by accident)', (t) => {
    if (!prereq(t, nativeSys() !== undefined, `the native helper: ${nativeLoadError() ?? ''} (node scripts/build-native.mjs needs cc)`)) return;
    assert.equal(typeof nativeSys()?.mount, 'function');
  });

  test('startWriteback starts a written range\'s writeback off the main thread (the blob store\'s head start on fsync)', async (t) => {
    const sys = nativeSys();
    if (!prereq(t, sys !== undefined, 'the native helper (node scripts/build-native.mjs)')) return;
    const dir = mkdtempSync(join(tmpdir(), 'kiln-wb-'));
    try {
      const fd = openSync(join(dir, 'f'), 'w');
      writeSync(fd, Buffer.alloc(1 << 20, 7));
      const started = sys!.startWriteback(fd, 0, 1 << 20);
      closeSync(fd); // it works on its own duplicate of the descriptor
      assert.equal(await started, undefined);
      await assert.rejects(sys!.startWriteback(fd, 0, 1), (e: unknown) => (e as { errno?: number }).errno === 9, 'EBADF on a closed descriptor');
      assert.throws(() => sys!.startWriteback(-1, 0, 1), TypeError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('overlay with paths relative to cwd, read-only bind, unmount; the process cwd never moves', async (t) => {
    if (!needRoot(t)) return;
    if (!prereq(t, nativeSys() !== undefined, 'the native helper (node scripts/build-native.mjs)')) return;
    const dir = layers();
    const cwd = process.cwd();
    try {
      const mnt = join(dir, 'mnt');
      await mountOverlay(mnt, 'lowerdir=lo1:lo2,upperdir=up,workdir=wk', dir);
      assert.equal(process.cwd(), cwd);
      assert.ok(isMounted(mnt));
      assert.equal(readFileSync(join(mnt, 'a'), 'utf8'), 'new a');
      writeFileSync(join(mnt, 'c'), 'c');
      assert.equal(readFileSync(join(dir, 'up', 'c'), 'utf8'), 'c');
      await unmount(mnt);
      assert.ok(!isMounted(mnt));

      await mountBindReadOnly(join(dir, 'lo2'), mnt);
      assert.equal(readFileSync(join(mnt, 'b'), 'utf8'), 'b');
      assert.throws(() => writeFileSync(join(mnt, 'x'), 'x'), { code: 'EROFS' });
      await unmount(mnt);
      assert.ok(!isMounted(mnt));
      // unmounting what is not mounted is not an error (as with umount(8))
      await unmount(mnt);

      await assert.rejects(mountOverlay(mnt, 'lowerdir=missing,upperdir=up,workdir=wk', dir), (e: unknown) => {
        assert.ok(isKilnError(e) && e.code === 'SNAPSHOT_UNAVAILABLE', String(e));
        assert.match((e as Error).message, /cannot mount overlay at .*: mount: No such file or directory/);
        return true;
      });
      assert.ok(!isMounted(mnt));
    } finally {
      spawnSync('umount', ['-l', join(dir, 'mnt')]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the mount(8) fallback (KILN_NATIVE=0) mounts the same way', (t) => {
    if (!needRoot(t)) return;
    const dir = layers();
    try {
      const script = `
        import { mountOverlay, unmount, isMounted } from ${JSON.stringify(new URL('../../src/snapshot/mount.js', import.meta.url).href)};
        import { nativeSys, nativeLoadError } from ${JSON.stringify(new URL('../../src/support/index.js', import.meta.url).href)};
        import { readFileSync } from 'node:fs';
        if (nativeSys() !== undefined) throw new Error('KILN_NATIVE=0 ignored');
        const mnt = ${JSON.stringify(join(dir, 'mnt'))};
        await mountOverlay(mnt, 'ro,lowerdir=lo1:lo2', ${JSON.stringify(dir)});
        const out = [readFileSync(mnt + '/a', 'utf8'), isMounted(mnt), nativeLoadError()];
        await unmount(mnt);
        out.push(isMounted(mnt));
        console.log(JSON.stringify(out));
      `;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, KILN_NATIVE: '0' }, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), ['new a', true, 'disabled by KILN_NATIVE=0', false]);
    } finally {
      spawnSync('umount', ['-l', join(dir, 'mnt')]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
