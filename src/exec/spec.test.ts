import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOciConfig, hostsFile, resolvConfFile, DEFAULT_CAPABILITIES, type ProcessSpec } from './spec.js';
import { resolveUser } from './user.js';
import { resolveInRoot } from './rootpath.js';
import { findRuntime } from './detect.js';

const FILES = { hosts: '/b/hosts', resolvConf: '/b/resolv.conf' };
const base: ProcessSpec = { args: ['/bin/sh', '-c', 'true'], env: ['A=1'], cwd: '/w', user: { uid: 0, gid: 0 }, network: 'default' };

test('config: namespaces per network mode', () => {
  const ns = (p: ProcessSpec): string[] => buildOciConfig(p, '/r', FILES).linux.namespaces.map((n) => n.type).sort();
  assert.deepEqual(ns(base), ['ipc', 'mount', 'pid', 'uts']);
  assert.deepEqual(ns({ ...base, network: 'host' }), ['ipc', 'mount', 'pid', 'uts']);
  assert.deepEqual(ns({ ...base, network: 'none' }), ['ipc', 'mount', 'network', 'pid', 'uts']);
});

test('config: process, capabilities, mounts', () => {
  const c = buildOciConfig({ ...base, user: { uid: 1000, gid: 1000, additionalGids: [10], home: '/home/u' } }, '/r', FILES);
  assert.equal(c.process.terminal, false);
  assert.equal(c.process.noNewPrivileges, false); // like BuildKit: setuid programs keep working
  assert.equal(buildOciConfig({ ...base, noNewPrivileges: true }, '/r', FILES).process.noNewPrivileges, true);
  assert.equal(c.process.rlimits, undefined);
  assert.deepEqual(c.process.user, { uid: 1000, gid: 1000, additionalGids: [1000, 10], umask: 0o022 });
  assert.deepEqual(c.process.env, ['A=1', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/home/u']);
  assert.deepEqual(c.process.capabilities.bounding, DEFAULT_CAPABILITIES);
  assert.deepEqual(c.process.capabilities.effective, []); // non-root
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.deepEqual(buildOciConfig(base, '/r', FILES).process.capabilities.effective, DEFAULT_CAPABILITIES);
  assert.deepEqual(
    c.mounts.map((m) => m.destination),
    ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup', '/etc/hosts', '/etc/resolv.conf'],
  );
  assert.deepEqual(c.mounts.find((m) => m.destination === '/etc/hosts')?.source, '/b/hosts');
  assert.ok(c.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'));
  assert.ok(c.linux.maskedPaths.includes('/proc/kcore'));
  assert.ok(c.linux.readonlyPaths.includes('/proc/sys'));
  assert.deepEqual(c.root, { path: '/r', readonly: false });
});

test("config: extra mounts in BuildKit's order and options, and errors", () => {
  const c = buildOciConfig(
    {
      ...base,
      mounts: [
        { type: 'tmpfs', target: '/tmp', sizeBytes: 1024 },
        { type: 'tmpfs', target: '/t/sub', sizeBytes: 0, readonly: true }, // nested: must come after /t
        { type: 'bind', source: '/s', target: '/t', readonly: true },
        { type: 'bind', source: '/other-hosts', target: '/etc/hosts', readonly: true }, // replaces the default, in its place
      ],
    },
    '/r',
    FILES,
  );
  assert.deepEqual(c.mounts.slice(-3), [
    { destination: '/t', type: 'bind', source: '/s', options: ['rbind', 'ro', 'nosuid', 'nodev'] },
    { destination: '/t/sub', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'ro'] }, // no size=0, no mode: 1777
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=1024'] },
  ]);
  const hosts = c.mounts.filter((m) => m.destination === '/etc/hosts');
  assert.deepEqual(hosts.map((m) => m.source), ['/other-hosts']);
  assert.ok(c.mounts.indexOf(hosts[0]!) < c.mounts.findIndex((m) => m.destination === '/etc/resolv.conf'));
  assert.throws(() => buildOciConfig(base, 'relative', FILES), /absolute/);
  assert.throws(() => buildOciConfig({ ...base, args: [] }, '/r', FILES), /no command/);
});

test('hosts and resolv.conf files', () => {
  assert.match(hostsFile('box'), /^127\.0\.0\.1\tlocalhost box\n::1\t/);
  assert.equal(resolvConfFile('# x\nnameserver 1.2.3.4\nsearch a b\noptions ndots:2\n'), 'nameserver 1.2.3.4\nsearch a b\noptions ndots:2\n');
  assert.equal(resolvConfFile(undefined), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
});

test('resolveInRoot and resolveUser never leave the rootfs', () => {
  const root = mkdtempSync(join(tmpdir(), 'kiln-user-'));
  try {
    mkdirSync(join(root, 'etc'));
    mkdirSync(join(root, 'real'));
    writeFileSync(join(root, 'real', 'passwd'), 'svc:x:77:88::/srv:/bin/sh\n');
    // absolute and ../ links are resolved against the rootfs, not the host
    symlinkSync('/../../../../real/passwd', join(root, 'etc', 'passwd'));
    symlinkSync('../../../../../../real/group', join(root, 'etc', 'group'));
    assert.equal(resolveInRoot(root, '/etc/passwd'), join(root, 'real', 'passwd'));
    assert.equal(resolveInRoot(root, '/etc/group'), join(root, 'real', 'group'));
    assert.deepEqual(resolveUser(root, 'svc'), { uid: 77, gid: 88, additionalGids: [], home: '/srv' });
    assert.deepEqual(resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [], home: '/' }); // no uid 0 line: runc's HOME is /
    assert.deepEqual(resolveUser(root, '5:6'), { uid: 5, gid: 6, additionalGids: [], home: '/' });
    // ids are read as Go's strconv.Atoi reads them (runc's GetExecUser): a + sign is allowed
    assert.deepEqual(resolveUser(root, '+77:+6'), { uid: 77, gid: 6, additionalGids: [], home: '/srv' });
    assert.throws(() => resolveUser(root, '-5'), /USER -5: uids and gids must be in range/);
    assert.throws(() => resolveUser(root, '5:-6'), /USER 5:-6: uids and gids must be in range/);
    assert.throws(() => resolveUser(root, 'root'), /unable to find user root/); // host's root is not visible
    symlinkSync('loop', join(root, 'loop'));
    assert.throws(() => resolveInRoot(root, '/loop/x'), /too many levels/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('findRuntime honours --runtime as a command name on PATH', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-rt-'));
  try {
    writeFileSync(join(dir, 'myrunc'), '#!/bin/sh\n', { mode: 0o755 });
    assert.equal(findRuntime({ runtime: 'myrunc', env: { PATH: dir } }), join(dir, 'myrunc'));
    assert.throws(() => findRuntime({ env: { PATH: dir } }), /runc was not found on PATH/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a RUN is named buildkitsandbox with /etc/hosts as BuildKit writes it (builds print and test both)', () => {
  assert.equal(buildOciConfig(base, '/r', FILES).hostname, 'buildkitsandbox');
  assert.equal(buildOciConfig({ ...base, hostname: 'box' }, '/r', FILES).hostname, 'box');
  assert.equal(hostsFile('buildkitsandbox'), '127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n');
});

test('config: a seccomp filter by default (deny-list, EPERM; clone3 ENOSYS; clone with namespace flags), none on request', () => {
  const base = { args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0 }, network: 'none' as const };
  const c = buildOciConfig(base, '/rootfs', { hosts: '/h', resolvConf: '/r' });
  const sc = c.linux.seccomp!;
  assert.equal(sc.defaultAction, 'SCMP_ACT_ALLOW');
  const denied = sc.syscalls.find((x) => x.names.includes('mount'))!;
  for (const n of ['unshare', 'setns', 'keyctl', 'bpf', 'open_by_handle_at', 'init_module', 'clock_settime', 'fsopen']) assert.ok(denied.names.includes(n), n);
  assert.equal(denied.errnoRet, 1);
  for (const n of ['ptrace', 'personality', 'clone', 'chroot']) assert.ok(!denied.names.includes(n), `${n} stays allowed (as under Docker's default caps)`);
  assert.deepEqual(sc.syscalls.find((x) => x.names.includes('clone3'))?.errnoRet, 38);
  const cloneRules = sc.syscalls.filter((x) => x.names.includes('clone'));
  assert.ok(cloneRules.some((x) => x.args?.[0]?.value === 0x10000000 && x.args[0].valueTwo === 0x10000000 && x.args[0].op === 'SCMP_CMP_MASKED_EQ'), 'CLONE_NEWUSER refused');
  assert.equal(buildOciConfig({ ...base, seccomp: false }, '/rootfs', { hosts: '/h', resolvConf: '/r' }).linux.seccomp, undefined);
});

test('argListTooLongHint: names the limit and the oversized argument, only for E2BIG', async () => {
  const { argListTooLongHint, MAX_ARG_STRLEN } = await import('./spec.js');
  const long = { args: ['/bin/sh', '-c', `echo ${'a'.repeat(200_000)}`], env: ['PATH=/bin'] };
  const tail = 'exec /bin/sh: argument list too long\n';
  const h = argListTooLongHint(long, tail);
  assert.ok(h !== undefined);
  assert.match(h, /at most 128 KiB for one argument/);
  assert.match(h, /one of 196 KiB/);
  assert.match(h, /put the commands in a script/);
  // every argument under the per-string limit: the total is what is named
  const many = { args: ['/bin/echo', ...Array.from({ length: 40 }, () => 'b'.repeat(MAX_ARG_STRLEN - 1))], env: [] };
  assert.match(argListTooLongHint(many, tail) ?? '', /arguments plus environment of a process \(this step passes 5121 KiB\)/);
  // any other failure, or none: no hint
  assert.equal(argListTooLongHint(long, 'sh: 1: false: not found\n'), undefined);
  assert.equal(argListTooLongHint(long, undefined), undefined);
});

test('hostsFile: --add-host entries follow the defaults, IP<tab>HOST, in order (as BuildKit writes them)', () => {
  assert.equal(hostsFile('buildkitsandbox'), '127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  assert.equal(
    hostsFile('h', [{ host: 'db', ip: '10.0.0.5' }, { host: 'v6', ip: '2001:db8::1' }]),
    '127.0.0.1\tlocalhost h\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.5\tdb\n2001:db8::1\tv6\n',
  );
});

test('--shm-size replaces /dev/shm with BuildKit\'s tmpfs; --ulimit sets only the rlimits asked, -1 as RLIM_INFINITY', async () => {
  const { ociConfigJson } = await import('./spec.js');
  const files = { hosts: '/b/hosts', resolvConf: '/b/resolv.conf' };
  const base: ProcessSpec = { args: ['true'], env: [], cwd: '/', user: { uid: 0, gid: 0 }, network: 'host' };
  const plain = buildOciConfig(base, '/r', files);
  assert.equal(plain.process.rlimits, undefined, 'no --ulimit: every limit inherited');
  assert.deepEqual(plain.mounts.filter((m) => m.destination === '/dev/shm').map((m) => m.options), [['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']]);
  const c = buildOciConfig({ ...base, shmSizeBytes: 104857600, ulimits: [{ name: 'core', soft: -1, hard: -1 }, { name: 'nofile', soft: 1024, hard: 2048 }] }, '/r', files);
  const shm = c.mounts.filter((m) => m.destination === '/dev/shm');
  assert.deepEqual(shm, [{ destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=104857600'] }]);
  assert.ok(c.mounts.findIndex((m) => m.destination === '/dev/shm') > c.mounts.findIndex((m) => m.destination === '/dev'), 'still mounted after /dev');
  assert.deepEqual(c.process.rlimits, [{ type: 'RLIMIT_CORE', hard: -1, soft: -1 }, { type: 'RLIMIT_NOFILE', hard: 2048, soft: 1024 }]);
  const text = ociConfigJson(c);
  assert.match(text, /"type": "RLIMIT_CORE",\s*"hard": 18446744073709551615,\s*"soft": 18446744073709551615/);
  assert.match(text, /"type": "RLIMIT_NOFILE",\s*"hard": 2048,\s*"soft": 1024/);
  assert.doesNotMatch(text, /kiln:RLIM_INFINITY|-1/);
});

test('cgroupsPathFor: BuildKit\'s /PARENT/buildkit/ID, cleaned so it cannot climb above the root; a systemd slice is refused', async () => {
  const { cgroupsPathFor } = await import('./spec.js');
  assert.equal(cgroupsPathFor('builds', 'c1'), '/builds/buildkit/c1');
  assert.equal(cgroupsPathFor('/a/b/', 'c1'), '/a/b/buildkit/c1');
  assert.equal(cgroupsPathFor('../../x', 'c1'), '/x/buildkit/c1');
  assert.equal(cgroupsPathFor('a/./../b', 'c1'), '/b/buildkit/c1');
  assert.throws(() => cgroupsPathFor('system.slice:', 'c1'), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'NOT_IMPLEMENTED' && /systemd slice/.test(e.message));
});

test("runtimeStartHint: runc's own error line, unquoted, as advice; nothing for a process's own failure", async () => {
  const { runtimeStartHint } = await import('./spec.js');
  const tail = 'some output\ntime="2026-11-28T12:00:00Z" level=error msg="runc run failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH"\n';
  assert.equal(runtimeStartHint(tail), 'the runtime could not start the process: exec: "nope": executable file not found in $PATH');
  assert.equal(runtimeStartHint('make: *** [all] Error 1\n'), undefined);
  assert.equal(runtimeStartHint(undefined), undefined);
});
