// Mount stubs on a plain directory: what runc would create is removed after the run, and the
// parent's mtime comes back to the nanosecond, whether or not fs.utimes can express it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { makeTempDir, removeTree } from '../support/index.js';
import { recordMountStubs } from './stubs.js';

const base = makeTempDir('kiln-stubs-test-');
after(() => removeTree(base));

for (const [what, stamp] of [
  ['a whole second (tar-made base images)', '@1700000000'],
  ['nanoseconds fs.utimes cannot set', '@1700000000.123456789'],
] as const) {
  test(`stubs are removed and their parent's mtime restored exactly: ${what}`, () => {
    const rootfs = join(base, String(Math.random()).slice(2));
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    execFileSync('touch', ['-m', '-d', stamp, join(rootfs, 'etc')]);
    const before = lstatSync(join(rootfs, 'etc'), { bigint: true }).mtimeNs;
    const clean = recordMountStubs(rootfs, ['/run/secrets/x']); // /etc/hosts and /etc/resolv.conf always
    // what runc does for missing mount destinations
    writeFileSync(join(rootfs, 'etc', 'hosts'), '');
    writeFileSync(join(rootfs, 'etc', 'resolv.conf'), '');
    mkdirSync(join(rootfs, 'run', 'secrets'), { recursive: true });
    writeFileSync(join(rootfs, 'run', 'secrets', 'x'), '');
    assert.notEqual(lstatSync(join(rootfs, 'etc'), { bigint: true }).mtimeNs, before);
    clean();
    assert.equal(existsSync(join(rootfs, 'etc', 'hosts')), false);
    assert.equal(existsSync(join(rootfs, 'etc', 'resolv.conf')), false);
    assert.equal(existsSync(join(rootfs, 'run')), false);
    assert.equal(existsSync(join(rootfs, 'etc', 'passwd')), true);
    assert.equal(lstatSync(join(rootfs, 'etc'), { bigint: true }).mtimeNs, before);
  });
}

test('a top-level /dev that runc makes stays, unless one of the step\'s own mounts needs it (as BuildKit\'s stub cleaner)', () => {
  const make = (): string => {
    const rootfs = join(base, String(Math.random()).slice(2));
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    return rootfs;
  };
  const runc = (rootfs: string): void => {
    for (const d of ['dev', 'proc', 'sys']) mkdirSync(join(rootfs, d), { recursive: true });
  };
  // only the runtime's default mounts: /dev, /proc, /sys stay in the layer
  const a = make();
  const cleanA = recordMountStubs(a);
  runc(a);
  cleanA();
  assert.deepEqual(['dev', 'proc', 'sys'].map((d) => existsSync(join(a, d))), [true, true, true]);
  // --shm-size (a tmpfs of the step's own at /dev/shm): /dev is the step's stub, and goes
  const b = make();
  const cleanB = recordMountStubs(b, ['/dev/shm']);
  runc(b);
  cleanB();
  assert.deepEqual(['dev', 'proc', 'sys'].map((d) => existsSync(join(b, d))), [false, true, true]);
});

test("stubs as BuildKit's cleaner finds them: targets resolved through symlinks and `..`, each empty stub removed deepest first, never what the step wrote", () => {
  const rootfs = join(base, String(Math.random()).slice(2));
  mkdirSync(join(rootfs, 'real'), { recursive: true });
  symlinkSync('/real', join(rootfs, 'link'));
  symlinkSync('/nowhere', join(rootfs, 'dangling'));
  const clean = recordMountStubs(rootfs, ['/link/sub', '/dangling', '/x/../mnt', '/a/b/c', '/p/q/r']);
  // runc follows the links and cleans the paths
  for (const d of ['real/sub', 'nowhere', 'mnt', 'a/b/c', 'p/q/r']) mkdirSync(join(rootfs, d), { recursive: true });
  writeFileSync(join(rootfs, 'etc-less-hosts'), 'kept'); // not a stub at all
  // the step writes next to stubs: an empty file in /a, a file with content in /p/q
  writeFileSync(join(rootfs, 'a', 'file'), '');
  writeFileSync(join(rootfs, 'p', 'q', 'data'), 'x');
  clean();
  assert.deepEqual(readdirSync(rootfs).sort(), ['a', 'dangling', 'etc-less-hosts', 'link', 'p', 'real']);
  assert.deepEqual(readdirSync(join(rootfs, 'real')), []);
  assert.deepEqual(readdirSync(join(rootfs, 'a')), ['file']); // /a/b/c and /a/b went, /a and its file stay
  assert.deepEqual(readdirSync(join(rootfs, 'p', 'q')), ['data']); // /p/q/r went
});
