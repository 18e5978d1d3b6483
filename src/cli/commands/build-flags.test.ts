import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePullFlag, parsePullMode } from './build.js';

test('--pull as docker build and buildx take it: bare (= always), a mode, or a boolean', () => {
  assert.deepEqual(normalizePullFlag(['build', '--pull', '.']), ['build', '--pull=always', '.']);
  assert.deepEqual(normalizePullFlag(['build', '--pull', '-t', 'x', '.']), ['build', '--pull=always', '-t', 'x', '.']);
  assert.deepEqual(normalizePullFlag(['build', '.', '--pull']), ['build', '.', '--pull=always']);
  assert.deepEqual(normalizePullFlag(['build', '--pull', 'never', '.']), ['build', '--pull', 'never', '.']);
  assert.deepEqual(normalizePullFlag(['build', '--pull=missing', '.']), ['build', '--pull=missing', '.']);
  assert.deepEqual(normalizePullFlag(['build', '--', '--pull', 'x']), ['build', '--', '--pull', 'x']);
  assert.equal(parsePullMode(undefined), 'missing');
  assert.equal(parsePullMode(true), 'always');
  assert.equal(parsePullMode('true'), 'always');
  assert.equal(parsePullMode('false'), 'missing');
  assert.equal(parsePullMode('Never'), 'never');
  assert.throws(() => parsePullMode('sometimes'), /invalid --pull "sometimes"/);
});

test('--output: the attributes kiln implements pass; any other fails loudly, never dropped', async () => {
  const { checkOutput, outputSpec } = await import('./build-flags.js');
  const ok = ['type=local,dest=out', 'out-dir', 'type=tar,dest=x.tar', 'type=tar,dest=-', 'type=docker,dest=-', 'type=oci,dest=-', '-', 'type=registry,name=127.0.0.1:5000/a:1', 'type=image', 'type=image,name=foo/bar:1,push=false', 'type=docker,dest=x.tar,name=foo:3', 'type=oci,dest=x.tar,tar=true,compression=gzip,oci-mediatypes=true'];
  for (const s of ok) assert.doesNotThrow(() => checkOutput(outputSpec(s)), s);
  const refused: Array<[string, RegExp]> = [
    ['type=local,dest=out,foo=bar', /--output type=local foo=… is not supported/],
    ['type=oci,dest=x.tar,tar=false', /--output type=oci tar=false is not supported/],
    ['type=oci,dest=x.tar,compression=zstd', /compression=zstd is not supported/],
    ['type=image,unpack=true', /type=image unpack=… is not supported/],
    ['type=tar,dest=x,foo=1', /--output type=tar foo=… is not supported/],
    ['type=registry,name=r/x:1,push=false', /--output type=registry push=false is not supported/],
    ['type=registry,dest=x', /--output type=registry dest=… is not supported/],
  ];
  for (const [s, re] of refused) assert.throws(() => checkOutput(outputSpec(s)), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'NOT_IMPLEMENTED' && re.test(e.message), s);
  assert.throws(() => checkOutput(outputSpec('type=docker,name=x')), /needs dest=/);
  assert.throws(() => checkOutput(outputSpec('type=tar')), /needs dest=/);
  // `-o -` and a local output to stdout are a tar of the final stage's files, as in buildx
  assert.deepEqual(outputSpec('-'), { type: 'tar', dest: '-' });
  assert.deepEqual(outputSpec('type=local,dest=-'), { type: 'tar', dest: '-' });
  assert.deepEqual(outputSpec('./-'), { type: 'local', dest: './-' });
  assert.throws(() => checkOutput(outputSpec(`type=image,name=a@sha256:${'0'.repeat(64)}`)), /refusing to create a tag with a digest reference/);
});

test('--add-host: IP addresses are read as Go net.ParseIP does and written as net.IP.String()', async () => {
  const { canonicalIp } = await import('./run-flags.js');
  const cases: Array<[string, string | undefined]> = [
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['256.1.1.1', undefined],
    ['01.2.3.4', undefined],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    ['::', '::'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['2001:DB8:0:0:0::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:0:0:0:0:8', '1::8'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['abcd:ef01::', 'abcd:ef01::'],
    ['0001::', '1::'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::ffff:102:304', '1.2.3.4'],
    ['::1.2.3.4', '::102:304'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['fe80::1%eth0', undefined],
    ['1::2::3', undefined],
    [':::', undefined],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1:2:3:4:5:6:7::8', undefined],
    ['12345::1', undefined],
    ['g::1', undefined],
    ['1.2.3.4::1', undefined],
    ['localhost', undefined],
    ['', undefined],
  ];
  for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
});

test('--add-host: HOST:IP or HOST=IP, brackets around IPv6, host-gateway; anything else is a usage error', async () => {
  const { parseAddHosts, HOST_GATEWAY_IP } = await import('./run-flags.js');
  assert.deepEqual(parseAddHosts(['db:10.0.0.5', 'v6=[2001:DB8::1]', 'six:::1', 'gw:host-gateway', 'eq=1.2.3.4', 'x.y-z:[1.2.3.4]']), [
    { host: 'db', ip: '10.0.0.5' },
    { host: 'v6', ip: '2001:db8::1' },
    { host: 'six', ip: '::1' },
    { host: 'gw', ip: HOST_GATEWAY_IP },
    { host: 'eq', ip: '1.2.3.4' },
    { host: 'x.y-z', ip: '1.2.3.4' },
  ]);
  assert.deepEqual(parseAddHosts([]), []);
  for (const bad of ['db', 'db:', ':1.2.3.4', '=1.2.3.4', 'db:not-an-ip', 'db:[::1', 'a b:1.2.3.4', 'db:1.2.3.4:80']) {
    assert.throws(() => parseAddHosts([bad]), (e: unknown) => {
      assert.ok(e instanceof Error && 'code' in e && e.code === 'USAGE', bad);
      assert.match(e.message, new RegExp(`invalid --add-host "${bad.replace(/[[\]]/g, '\\$&')}": expected HOST:IP`));
      return true;
    });
  }
});

test('docker build flags kiln leaves out get a hint; kiln\'s own flags and unknown ones do not', async () => {
  const { unsupportedBuildFlagHint } = await import('./build-unsupported.js');
  const { makeProgram } = await import('../main.js');
  const build = makeProgram().commands.find((c) => c.name() === 'build')!;
  const own = build.options.flatMap((o) => [o.long, o.short]).filter((f): f is string => f !== undefined);
  // (--rm and --force-rm have one for their valued forms, which commander reports as unknown)
  for (const f of own.filter((x) => x !== '--rm' && x !== '--force-rm')) assert.equal(unsupportedBuildFlagHint(f), undefined, `${f} is kiln's own`);
  for (const f of ['--load', '--squash', '--sbom', '--provenance=mode=max', '--attest', '-m', '--memory', '-c', '--cpu-quota', '--allow', '--builder', '--call', '--check', '--annotation', '--compress', '--security-opt', '--isolation', '--rm=false']) {
    assert.match(unsupportedBuildFlagHint(f) ?? '', /kiln/, f);
  }
  assert.equal(unsupportedBuildFlagHint('--bogus'), undefined);
  assert.equal(unsupportedBuildFlagHint('--constructor'), undefined, 'not a property of Object');
  assert.ok(own.includes('--rm') && own.includes('--force-rm'), 'docker build\'s --rm / --force-rm are accepted: kiln always removes RUN containers');
});

test('--shm-size: docker\'s RAMInBytes sizes; 0 = the default; anything else is a usage error', async () => {
  const { parseShmSize } = await import('./run-flags.js');
  const ok: Array<[string, number | undefined]> = [
    ['1000', 1000],
    ['64m', 64 * 2 ** 20],
    ['128M', 128 * 2 ** 20],
    ['1g', 2 ** 30],
    ['1.5g', 1.5 * 2 ** 30],
    ['2kb', 2048],
    ['2KiB', 2048],
    ['3 m', 3 * 2 ** 20],
    ['10b', 10],
    ['0', undefined],
  ];
  for (const [v, want] of ok) assert.equal(parseShmSize(v), want, v);
  assert.equal(parseShmSize(undefined), undefined);
  for (const v of ['', 'm', '-1m', '1x', '1mm', '1e3', 'big']) assert.throws(() => parseShmSize(v), /invalid --shm-size/, v);
});

test('--ulimit: NAME=SOFT[:HARD] as go-units reads it; the last of a name wins; errors name the problem', async () => {
  const { parseUlimits } = await import('./run-flags.js');
  assert.deepEqual(parseUlimits(['nofile=1024:2048', 'nproc=512', 'core=-1', 'nofile=100:200', 'stack=-1:-1', 'memlock=0:-1']), [
    { name: 'core', soft: -1, hard: -1 },
    { name: 'memlock', soft: 0, hard: -1 },
    { name: 'nofile', soft: 100, hard: 200 },
    { name: 'nproc', soft: 512, hard: 512 },
    { name: 'stack', soft: -1, hard: -1 },
  ]);
  const bad: Array<[string, RegExp]> = [
    ['nofile', /expected NAME=SOFT\[:HARD\]/],
    ['files=10', /unknown limit "files"/],
    ['NOFILE=10', /unknown limit "NOFILE"/],
    ['nofile=1:2:3', /at most two values/],
    ['nofile=a', /whole numbers/],
    ['nofile=', /whole numbers/],
    ['nofile=-2', /at least 0, or -1/],
    ['nofile=2048:1024', /soft limit must not exceed the hard limit: 2048 > 1024/],
    ['nofile=-1:1024', /soft limit must not exceed the hard limit: -1 > 1024/],
  ];
  for (const [v, re] of bad) {
    assert.throws(() => parseUlimits([v]), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'USAGE' && re.test(e.message), v);
  }
});

test('--output dest=-: one output on stdout, never with -q (its image ID) and never to a terminal', async () => {
  const { checkStdoutOutputs } = await import('./build-outputs.js');
  const tar = { type: 'tar', dest: '-' };
  assert.doesNotThrow(() => checkStdoutOutputs([tar, { type: 'local', dest: 'out' }], false, false));
  assert.doesNotThrow(() => checkStdoutOutputs([{ type: 'local', dest: 'out' }], true, true), 'nothing on stdout: no constraint');
  assert.throws(() => checkStdoutOutputs([tar, { type: 'docker', dest: '-' }], false, false), /only one --output can write to stdout/);
  assert.throws(() => checkStdoutOutputs([tar], true, false), /-q prints the image ID on stdout/);
  assert.throws(() => checkStdoutOutputs([tar], false, true), /refusing to write an archive to a terminal/);
});
