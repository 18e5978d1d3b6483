// RUN containers with the real runc on a busybox rootfs: output, exit codes, env, cwd, users,
// networking, capabilities, /etc/hosts + resolv.conf, abort.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { RuncRuntime, findRuntime, resolveUser, type ProcessSpec } from '../../src/exec/index.js';
import { isKilnError } from '../../src/errors.js';
import { output } from '../../src/support/index.js';
import { mountsUnder } from '../../src/snapshot/index.js';
import { isRoot, which } from '../helpers/prereq.js';
import { prereq } from '../helpers/prereq.js';
import { haveBusybox, makeBusyboxRootfs } from '../helpers/busybox-rootfs.js';
import { PROJECT_ROOT } from '../helpers/cli.js';

class Collect extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const ROOT_USER = { uid: 0, gid: 0, additionalGids: [], home: '/root' };

function spec(args: string[], extra: Partial<ProcessSpec> = {}): ProcessSpec {
  return { args, env: [], cwd: '/', user: ROOT_USER, network: 'none', ...extra };
}

const ready = isRoot && which('runc') !== undefined && haveBusybox();
const missing = 'root, runc and busybox-static (run as root: bash scripts/ensure-deps.sh)';

describe('RuncRuntime', () => {
  let work = '';
  let rootfs = '';
  let rt: RuncRuntime;

  async function run(s: ProcessSpec, signal = new AbortController().signal): Promise<{ out: string; err: string }> {
    const out = new Collect();
    const err = new Collect();
    await rt.run(s, rootfs, { stdout: out, stderr: err }, signal);
    return { out: out.text(), err: err.text() };
  }

  before(() => {
    if (!ready) return;
    work = mkdtempSync(join(tmpdir(), 'kiln-exec-test-'));
    rootfs = makeBusyboxRootfs(join(work, 'rootfs'));
    rt = new RuncRuntime({ runtimePath: findRuntime(), stateDir: join(work, 'state') });
  });
  afterEach(() => {
    if (!ready) return;
    assert.deepEqual(mountsUnder(work), [], 'no mounts left under the work dir');
  });
  after(async () => {
    if (!ready) return;
    assert.deepEqual(await rt.list(), [], 'no container left behind');
    rmSync(work, { recursive: true, force: true });
  });

  test('shell form and exec form capture stdout and stderr', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const a = await run(spec(['/bin/sh', '-c', 'echo hi; echo oops >&2']));
    assert.equal(a.out, 'hi\n');
    assert.equal(a.err, 'oops\n');
    const b = await run(spec(['echo', 'hi', 'there']));
    assert.equal(b.out, 'hi there\n');
  });

  test('a non-zero exit is RUN_FAILED with the exit code and the output tail', async (t) => {
    if (!prereq(t, ready, missing)) return;
    await assert.rejects(run(spec(['/bin/sh', '-c', 'for i in $(seq 1 100); do echo line$i; done; exit 3'])), (e: unknown) => {
      assert.ok(isKilnError(e));
      assert.equal(e.code, 'RUN_FAILED');
      assert.equal(e.details.exitCode, 3);
      assert.match(e.message, /exit code: 3/);
      assert.match(e.details.outputTail ?? '', /line100\n$/);
      assert.doesNotMatch(e.details.outputTail ?? '', /line1\n/);
      return true;
    });
    await assert.rejects(run(spec(['/no/such/binary'])), (e: unknown) => isKilnError(e) && e.code === 'RUN_FAILED');
  });

  test('a failure quotes a huge command shortened and keeps a bounded tail of a huge last line', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const cmd = `: ${'y'.repeat(100_000)}; echo first; head -c 3000000 /dev/zero | tr '\\0' x; exit 5`;
    await assert.rejects(run(spec(['/bin/sh', '-c', cmd])), (e: unknown) => {
      assert.ok(isKilnError(e));
      assert.equal(e.details.exitCode, 5);
      assert.match(e.message, /^process ": y+\.\.\. \[\d+ more characters\]" did not complete successfully: exit code: 5$/);
      assert.ok(e.message.length < 5000, `${e.message.length} characters`);
      const tail = e.details.outputTail ?? '';
      assert.ok(tail.length > 0 && tail.length <= 16 * 1024, `${tail.length} characters of tail`);
      assert.match(tail, /^x+$/, 'the end of the real last line');
      return true;
    });
  });

  test('a command line over Linux\'s 128 KiB argument limit fails with a hint that says so', async (t) => {
    if (!prereq(t, ready, missing)) return;
    await assert.rejects(run(spec(['/bin/sh', '-c', `echo ${'a'.repeat(200_000)}`])), (e: unknown) => {
      assert.ok(isKilnError(e));
      assert.equal(e.code, 'RUN_FAILED');
      assert.match(e.details.outputTail ?? '', /argument list too long/);
      assert.match(e.details.hint ?? '', /at most 128 KiB for one argument .* one of 196 KiB: put the commands in a script/);
      return true;
    });
    // at the limit (128 KiB with its NUL), it runs
    const n = 128 * 1024 - 1 - 'echo  | wc -c'.length;
    const ok = await run(spec(['/bin/sh', '-c', `echo ${'a'.repeat(n)} | wc -c`]));
    assert.equal(ok.out.trim(), String(n + 1));
  });

  test('env, PATH default, HOME and cwd', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const r = await run(spec(['/bin/sh', '-c', 'echo "$FOO|$PATH|$HOME|$(pwd)"'], { env: ['FOO=bar baz'], cwd: '/tmp' }));
    assert.equal(r.out, 'bar baz|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|/root|/tmp\n');
  });

  test('user by name and by uid, with groups', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const app = resolveUser(rootfs, 'app');
    assert.deepEqual(app, { uid: 1000, gid: 1000, additionalGids: [10, 50], home: '/home/app' });
    const r = await run(spec(['/bin/sh', '-c', 'id -u; id -g; id -G; echo $HOME; grep CapEff /proc/self/status'], { user: app }));
    assert.equal(r.out, '1000\n1000\n1000 10 50\n/home/app\nCapEff:\t0000000000000000\n');
    const byUid = resolveUser(rootfs, '1000');
    const r2 = await run(spec(['id', '-u'], { user: byUid }));
    assert.equal(r2.out, '1000\n');
    const unknownUid = resolveUser(rootfs, '4242:50');
    assert.deepEqual(unknownUid, { uid: 4242, gid: 50, additionalGids: [], home: '/' });
    const r3 = await run(spec(['/bin/sh', '-c', 'id -u; id -g'], { user: resolveUser(rootfs, '4242') }));
    assert.equal(r3.out, '4242\n0\n');
    assert.throws(() => resolveUser(rootfs, 'nosuchuser'), /unable to find user nosuchuser/);
    assert.throws(() => resolveUser(rootfs, 'app:nosuchgroup'), /unable to find group nosuchgroup/);
  });

  test("root gets Docker's default capability set; no_new_privs only on request", async (t) => {
    if (!prereq(t, ready, missing)) return;
    const script = 'grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status';
    const r = await run(spec(['/bin/sh', '-c', script]));
    assert.equal(r.out, 'CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t0\n');
    const r2 = await run(spec(['/bin/sh', '-c', script], { noNewPrivileges: true }));
    assert.match(r2.out, /NoNewPrivs:\t1\n$/);
  });

  test('a seccomp filter refuses namespaces, mounts and clock setting (as BuildKit confines RUN); seccomp: false lifts it', async (t) => {
    if (!prereq(t, ready, missing)) return;
    // unshare -U needs no capability at all: only the filter stops it. date -s needs CAP_SYS_TIME
    // anyway; the filter answers first. Forks and threads (clone without CLONE_NEW*) still work.
    const script = [
      'grep -E "^Seccomp:" /proc/self/status',
      'unshare -U true 2>/dev/null && echo unshare-ok || echo unshare-refused',
      '(echo forked) | cat',
    ].join('; ');
    const r = await run(spec(['/bin/sh', '-c', script]));
    assert.equal(r.out, 'Seccomp:\t2\nunshare-refused\nforked\n');
    const open = await run(spec(['/bin/sh', '-c', script], { seccomp: false }));
    assert.equal(open.out, 'Seccomp:\t0\nunshare-ok\nforked\n');
  });

  test('network none sees only lo; default shares the host network', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const none = await run(spec(['/bin/sh', '-c', 'ls /sys/class/net; cat /sys/class/net/lo/operstate']));
    assert.equal(none.out.split('\n')[0], 'lo');
    assert.match(none.out.split('\n')[1] ?? '', /^(unknown|up)$/);
    const host = await run(spec(['ls', '/sys/class/net'], { network: 'default' }));
    const hostIfaces = (await output('ls', ['/sys/class/net'])).split('\n').filter(Boolean).sort();
    assert.deepEqual(host.out.split(/\s+/).filter(Boolean).sort(), hostIfaces);
  });

  test('/etc/hosts and /etc/resolv.conf are generated per run and not left in the rootfs', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const hostResolv = join(work, 'host-resolv.conf');
    writeFileSync(hostResolv, '# comment\nnameserver 10.1.2.3\nsearch example.test\n');
    const rt2 = new RuncRuntime({ runtimePath: findRuntime(), stateDir: join(work, 'state'), hostResolvConf: hostResolv });
    const out = new Collect();
    await rt2.run(
      spec(['/bin/sh', '-c', 'cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname'], { hostname: 'box' }),
      rootfs,
      { stdout: out, stderr: new Collect() },
      new AbortController().signal,
    );
    const [hosts, resolv, hostname] = out.text().split('---\n');
    assert.match(hosts ?? '', /^127\.0\.0\.1\tlocalhost box$/m);
    assert.equal(resolv, 'nameserver 10.1.2.3\nsearch example.test\n');
    assert.equal(hostname, 'box\n');
    for (const p of ['etc/hosts', 'etc/resolv.conf']) assert.equal(existsSync(join(rootfs, p)), false, p);
    // Like BuildKit (Docker 26), the empty top-level mount point dirs runc creates stay.
    for (const p of ['proc', 'sys', 'dev']) assert.deepEqual(readdirSync(join(rootfs, p)), [], p);
  });

  test('/proc paths are masked and read-only like Docker', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const r = await run(spec(['/bin/sh', '-c', 'wc -c < /proc/timer_list; echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo writable || echo ro']));
    assert.equal(r.out.replace(/ /g, ''), '0\nro\n');
  });

  test('extra mounts: read-only bind, read-write bind and tmpfs', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const src = mkdtempSync(join(work, 'bind-'));
    writeFileSync(join(src, 'in.txt'), 'from host\n');
    const r = await run(
      spec(['/bin/sh', '-c', 'cat /ro/in.txt; touch /ro/x 2>/dev/null || echo ro-denied; echo w > /rw/out.txt; df /scratch | tail -1 | awk "{print \\$2}"'], {
        mounts: [
          { type: 'bind', source: src, target: '/ro', readonly: true },
          { type: 'bind', source: src, target: '/rw', readonly: false },
          { type: 'tmpfs', target: '/scratch', sizeBytes: 4 * 1024 * 1024 },
        ],
      }),
    );
    assert.equal(r.out, 'from host\nro-denied\n4096\n');
    assert.equal(readFileSync(join(src, 'out.txt'), 'utf8'), 'w\n');
    for (const p of ['ro', 'rw', 'scratch']) assert.equal(existsSync(join(rootfs, p)), false, p);
  });

  test('abort kills a sleeping container and leaves nothing running', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const ac = new AbortController();
    const started = Date.now();
    const p = run(spec(['/bin/sh', '-c', 'echo started; sleep 1000']), ac.signal);
    await new Promise((r) => setTimeout(r, 500));
    ac.abort();
    await assert.rejects(p, (e: unknown) => isKilnError(e) && e.code === 'ABORTED');
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual(await rt.list(), []);
    const ps = await output('ps', ['-eo', 'args']);
    assert.doesNotMatch(ps, /sleep 1000/);
  });

  test('abort right after start, before the container exists, still stops it', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const ac = new AbortController();
    const p = run(spec(['sleep', '1000']), ac.signal);
    setImmediate(() => ac.abort());
    await assert.rejects(p, (e: unknown) => isKilnError(e) && e.code === 'ABORTED');
    assert.deepEqual(await rt.list(), []);
  });

  test('process exit kills the containers still running (exit hook)', async (t) => {
    if (!prereq(t, ready, missing)) return;
    const state = join(work, 'exit-state');
    const script = `
      const { RuncRuntime } = await import(${JSON.stringify(join(PROJECT_ROOT, 'dist/src/exec/index.js'))});
      const rt = new RuncRuntime({ runtimePath: ${JSON.stringify(findRuntime())}, stateDir: ${JSON.stringify(state)} });
      const out = { write: (b) => { if (String(b).includes('ready')) process.exit(0); return true; } };
      await rt.run({ args: ['/bin/sh', '-c', 'echo ready; exec sleep 1001'], env: [], cwd: '/', user: { uid: 0, gid: 0 }, network: 'none' },
        ${JSON.stringify(rootfs)}, { stdout: out, stderr: process.stderr }, new AbortController().signal);
    `;
    const r = await output(process.execPath, ['--input-type=module', '-e', script]);
    assert.equal(r, '');
    const rt2 = new RuncRuntime({ runtimePath: findRuntime(), stateDir: state });
    assert.deepEqual(await rt2.list(), []);
    assert.doesNotMatch(await output('ps', ['-eo', 'args']), /sleep 1001/);
  });

  test('findRuntime: --runtime must be executable; runc on PATH otherwise', () => {
    assert.throws(() => findRuntime({ runtime: '/nonexistent/runc' }), (e: unknown) => isKilnError(e) && e.code === 'RUNTIME_UNAVAILABLE');
    assert.throws(() => findRuntime({ env: { PATH: '/nonexistent' } }), /runc was not found on PATH/);
  });
});
