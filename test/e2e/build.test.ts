// `kiln build` end to end with the real CLI, runc and overlayfs, on a busybox base image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { Store, loadImage } from '../../src/store/index.js';
import { assertValid } from '../../src/image/index.js';
import { decompressLayer } from '../../src/layer/index.js';
import { PROJECT_ROOT, runKiln } from '../helpers/cli.js';
import { which } from '../helpers/prereq.js';
import { busyboxStore } from '../helpers/kiln-image.js';
import { BusyboxSuite } from '../helpers/busybox-suite.js';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';

const suite = new BusyboxSuite('kiln-e2e-');

function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const dir = join(suite.work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

const kiln = (args: string[]) => suite.kiln(args);

function mountsLeft(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(suite.root));
}

test('a multi-stage build: RUN output, config, an unused stage never runs, image validates', async (t) => {
  if (!suite.check(t)) return;
  const dir = context(
    'multi',
    [
      'FROM busybox AS unused',
      'RUN echo "this stage must not run" && exit 42',
      'FROM busybox',
      'ARG GREETING=hello',
      'ENV APP_HOME=/srv/app',
      'WORKDIR $APP_HOME',
      'RUN echo "$GREETING from $(id -u)" > greeting.txt && rm -f /etc/group',
      'LABEL org.example.kind=test',
      'EXPOSE 3000',
      'CMD ["cat", "greeting.txt"]',
      '',
    ].join('\n'),
  );
  const r = await kiln(['build', '--progress', 'plain', '-t', 'e2e/multi:1', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /this stage must not run/);
  assert.match(r.stderr, /\[stage-1 \d\/\d\] RUN echo/);

  const store = Store.open(suite.root);
  const img = await loadImage(store, 'docker.io/e2e/multi:1', { decompress: () => createGunzip() });
  await assertValid(img);
  const cfg = await img.config();
  assert.equal(cfg.config?.WorkingDir, '/srv/app');
  assert.deepEqual(cfg.config?.Cmd, ['cat', 'greeting.txt']);
  assert.ok(cfg.config?.Env?.includes('APP_HOME=/srv/app'));
  assert.ok(!cfg.config?.Env?.some((e) => e.startsWith('GREETING=')), 'ARG values stay out of the image config');
  assert.deepEqual(cfg.config?.ExposedPorts, { '3000/tcp': {} });
  assert.equal(cfg.config?.Labels?.['org.example.kind'], 'test');

  // The RUN layer holds greeting.txt and a whiteout for /etc/group.
  const layers = await img.layers();
  const manifest = await img.manifest();
  const last = manifest.layers[manifest.layers.length - 1]!;
  const tar = await decompressLayer(Readable.from((await store.open(last.digest)) as AsyncIterable<Buffer>), last.mediaType);
  const listing = execFileSync('tar', ['-tvf', '-'], { input: await streamToBuffer(tar) }).toString();
  assert.match(listing, /srv\/app\/greeting\.txt/);
  assert.match(listing, /etc\/\.wh\.group/);
  assert.ok(layers.length >= 2);
  assert.deepEqual(mountsLeft(), []);

  // A second build takes everything from the cache.
  const again = await kiln(['build', '--progress', 'plain', '-t', 'e2e/multi:2', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /CACHED/);
  assert.match(again.stderr, /0 steps ran/);
  assert.equal(store.resolve('docker.io/e2e/multi:2').digest, store.resolve('docker.io/e2e/multi:1').digest);
});

test('a failing RUN reports Dockerfile:LINE, the stage, the exit code and the output tail, and leaves nothing behind', async (t) => {
  if (!suite.check(t)) return;
  const dir = context('fail', ['FROM busybox AS broken', 'RUN echo first line', 'RUN echo "about to fail" && exit 3', 'CMD ["sh"]', ''].join('\n'));
  const r = await kiln(['build', '--progress', 'plain', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Dockerfile:3/);
  assert.match(r.stderr, /3 \| >>> RUN echo "about to fail" && exit 3/);
  assert.match(r.stderr, /exit code: 3/);
  assert.match(r.stderr, /about to fail/);
  assert.match(r.stderr, /stage: broken/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace for a user error');
  assert.deepEqual(mountsLeft(), []);
  const ps = execFileSync('runc', ['--root', join(suite.root, 'run', 'runc'), 'list', '-q']).toString().trim();
  assert.equal(ps, '');
});

test('SOURCE_DATE_EPOCH builds are reproducible bit for bit', async (t) => {
  if (!suite.check(t)) return;
  const dir = context('repro', ['FROM busybox', 'RUN echo reproducible > /r.txt && touch /r2.txt', ''].join('\n'));
  const a = await runKiln(['build', '--no-cache', '-q', dir], { env: { KILN_ROOT: suite.root, SOURCE_DATE_EPOCH: '1700000000' } });
  const b = await runKiln(['build', '--no-cache', '-q', dir], { env: { KILN_ROOT: suite.root, SOURCE_DATE_EPOCH: '1700000000' } });
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(a.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(a.stdout, b.stdout);
  assert.ok(existsSync(suite.root));
});

test('independent stages run at the same time', async (t) => {
  if (!suite.check(t)) return;
  // Each stage records when its RUN started and ended (ms); the final stage gathers both.
  const stamp = (n: string) => `RUN s=$(cut -d' ' -f1 /proc/uptime) && sleep 1.5 && e=$(cut -d' ' -f1 /proc/uptime) && echo "$s $e" > /${n}.t`;
  const dir = context('parallel', ['FROM busybox AS a', stamp('a'), 'FROM busybox AS b', stamp('b'), 'FROM busybox', 'COPY --from=a /a.t /', 'COPY --from=b /b.t /', ''].join('\n'));
  const out = join(suite.work, 'parallel-out');
  const r = await kiln(['build', '--no-cache', '--jobs', '2', '--output', `type=local,dest=${out}`, dir]);
  assert.equal(r.code, 0, r.stderr);
  const [as, ae] = readFileSync(join(out, 'a.t'), 'utf8').trim().split(' ').map(Number) as [number, number];
  const [bs, be] = readFileSync(join(out, 'b.t'), 'utf8').trim().split(' ').map(Number) as [number, number];
  assert.ok(as < be && bs < ae, `stage a [${as}, ${ae}] and stage b [${bs}, ${be}] should overlap`);
});

test('-o type=image,name=N names the image, and an archive output carries its own name=', async (t) => {
  if (!suite.check(t)) return;
  const dir = context('output-names', 'FROM busybox\nRUN echo named > /n.txt\n');
  const tar = join(suite.work, 'output-names.tar');
  const r = await kiln(['build', '-q', '-o', 'type=image,name=kiln-test/named:7', '-o', `type=docker,dest=${tar},name=kiln-test/in-archive:3`, dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match((await kiln(['images'])).stdout, /^kiln-test\/named\s+7\s/m);
  const manifest = JSON.parse(execFileSync('tar', ['-xOf', tar, 'manifest.json'], { encoding: 'utf8' })) as Array<{ RepoTags: string[] }>;
  assert.deepEqual(manifest[0]!.RepoTags.sort(), ['kiln-test/in-archive:3', 'kiln-test/named:7']);
  // --progress quiet is -q, as in buildx: only the image ID, on stdout
  const q = await kiln(['build', '--progress', 'quiet', dir]);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(q.stderr, '');
});

test('many stages: every one is built, and Node does not warn about abort listeners', async (t) => {
  if (!suite.check(t)) return;
  const n = 14; // past Node's default of 10 listeners per AbortSignal
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`FROM busybox AS s${i}`, `RUN echo ${i} > /f${i}`);
  lines.push('FROM scratch');
  for (let i = 0; i < n; i++) lines.push(`COPY --from=s${i} /f${i} /`);
  const out = join(suite.work, 'many-out');
  const r = await kiln(['build', '--no-cache', '--output', `type=local,dest=${out}`, context('many-stages', lines.join('\n') + '\n')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readdirSync(out).length, n);
  assert.doesNotMatch(r.stderr, /MaxListenersExceededWarning|Warning:/);
  // the summary names the first ten stages and counts the others (15 stages)
  assert.match(r.stderr, /stages built: (s\d+, ){9}s\d+ and 5 more\n/);
});

test('Ctrl-C (SIGINT) mid-build stops the RUN, unmounts and exits 130', async (t) => {
  if (!suite.check(t)) return;
  const dir = context('sigint', ['FROM busybox', 'RUN echo started && sleep 37', ''].join('\n'));
  const { spawn } = await import('node:child_process');
  const { KILN_BIN } = await import('../helpers/cli.js');
  const child = spawn(KILN_BIN, ['build', '--no-cache', '--progress', 'plain', dir], { env: { ...process.env, KILN_ROOT: suite.root } });
  let err = '';
  let sent = false;
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
    if (!sent && err.includes('started')) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code: number | null = await new Promise((res) => child.on('close', (c) => res(c)));
  assert.equal(code, 130, err);
  assert.deepEqual(mountsLeft(), []);
  const ps = execFileSync('runc', ['--root', join(suite.root, 'run', 'runc'), 'list', '-q']).toString().trim();
  assert.equal(ps, '');
  assert.doesNotMatch(execFileSync('ps', ['-eo', 'args']).toString(), /^sleep 37$/m);
});

test('Ctrl-C while a COPY matches the context against a huge .dockerignore: the build ends at once with 130', async (t) => {
  if (!suite.check(t)) return;
  // 2,000 files against 50,000 patterns with no literal text (no shortcut applies): ~30 s of
  // matching. The walk must still give SIGINT's handler its turn.
  const files: Record<string, string> = {};
  for (let i = 0; i < 2000; i++) files[`d/${i % 20}/f-${i}.txt`] = '';
  const patterns = Array.from({ length: 50_000 }, (_, i) => `[0-9]*[0-9]?${'?'.repeat(1 + (i % 5))}[0-9]`);
  const dir = context('huge-dockerignore', ['FROM scratch', 'COPY . /ctx/', ''].join('\n'), { ...files, '.dockerignore': patterns.join('\n') + '\n' });
  const { spawn } = await import('node:child_process');
  const { KILN_BIN } = await import('../helpers/cli.js');
  const child = spawn(KILN_BIN, ['build', '--no-cache', '--progress', 'plain', dir], { env: { ...process.env, KILN_ROOT: suite.root } });
  let err = '';
  let sentAt = 0;
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
    if (sentAt === 0 && err.includes('COPY . /ctx/')) {
      sentAt = -1;
      setTimeout(() => {
        sentAt = Date.now();
        child.kill('SIGINT');
      }, 1000);
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code: number | null = await new Promise((res) => child.on('close', (c) => res(c)));
  clearTimeout(killer);
  const waited = Date.now() - sentAt;
  assert.ok(sentAt > 0, `the COPY step never started:\n${err}`);
  assert.equal(code, 130, err);
  assert.match(err, /^ERROR: build interrupted$/m);
  // before the walk gave the event loop turns, SIGINT waited for all of the matching
  assert.ok(waited < 10_000, `the build ended ${waited} ms after SIGINT`);
  assert.deepEqual(mountsLeft(), []);
});

test('--network=none: every RUN without its own --network gets a network namespace with only lo; RUN --network=host keeps the host', async (t) => {
  if (!suite.check(t)) return;
  const dir = context('net-none', ['FROM busybox', 'RUN grep -c : /proc/net/dev > /default-ifs', 'RUN --network=host grep -c : /proc/net/dev > /host-ifs', ''].join('\n'));
  const out = join(suite.work, 'net-none-out');
  const r = await kiln(['build', '--network=none', '--progress', 'plain', '-o', `type=local,dest=${out}`, dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(out, 'default-ifs'), 'utf8'), '1\n', 'lo alone');
  const hostIfs = readFileSync('/proc/net/dev', 'utf8').split('\n').filter((l) => l.includes(':')).length;
  assert.equal(readFileSync(join(out, 'host-ifs'), 'utf8'), `${hostIfs}\n`);
  // the network is part of the step's key: without the flag the first RUN runs again (and so the one after it)
  const again = await kiln(['build', '--progress', 'plain', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /2 steps ran, 0 cached/);
});

test('a damaged blob in the store: a cached step layer is packed again, a base layer and index.json are errors that say so', async (t) => {
  if (!suite.check(t)) return;
  const dir = context('damaged', ['FROM busybox', 'RUN echo damaged-test > /d', ''].join('\n'));
  const first = await kiln(['build', '-q', '-t', 'damaged:1', dir]);
  assert.equal(first.code, 0, first.stderr);
  const store = Store.open(suite.root);
  const manifestOf = async (name: string) => JSON.parse((await store.readBytes(store.resolve(name).digest)).toString()) as { layers: { digest: string; size: number }[] };
  const blob = (d: string) => join(suite.root, 'blobs', 'sha256', d.replace(/^sha256:/, ''));
  const m = await manifestOf('docker.io/library/damaged:1');
  // the RUN's layer, truncated: the cached step must not hand it to the new image
  writeFileSync(blob(m.layers[m.layers.length - 1]!.digest), 'damaged');
  const again = await kiln(['build', '-q', '-t', 'damaged:2', dir]);
  assert.equal(again.code, 0, again.stderr);
  const verify = await kiln(['store', 'verify']);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  // a base layer: an error naming it, not an image that points at it
  const base = blob(m.layers[0]!.digest);
  const saved = readFileSync(base);
  writeFileSync(base, 'damaged');
  try {
    const broken = await kiln(['build', '-q', '--no-cache', '-t', 'damaged:3', dir]);
    assert.notEqual(broken.code, 0);
    assert.match(broken.stderr, /base image layer sha256:[0-9a-f]{64} is missing or damaged in the store/);
  } finally {
    writeFileSync(base, saved);
  }
  // an unreadable index.json is not "no such image"
  const index = join(suite.root, 'index.json');
  const savedIndex = readFileSync(index);
  writeFileSync(index, '');
  try {
    const r = await kiln(['run', 'busybox', 'true']);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stderr, /Unable to find image/);
    assert.match(r.stderr, /index\.json/);
  } finally {
    writeFileSync(index, savedIndex);
  }
});

test('SIGTERM while a --secret FIFO has no writer: the build ends with 143, "build terminated", no mounts left', async (t) => {
  if (!suite.check(t)) return;
  const dir = context('fifo-secret', ['FROM busybox', 'RUN --mount=type=secret,id=s cat /run/secrets/s', ''].join('\n'));
  const fifo = join(suite.work, 'secret.fifo');
  execFileSync('mkfifo', [fifo]);
  const { spawn } = await import('node:child_process');
  const { KILN_BIN } = await import('../helpers/cli.js');
  const child = spawn(KILN_BIN, ['build', '--no-cache', '--progress', 'plain', '--secret', `id=s,src=${fifo}`, dir], { env: { ...process.env, KILN_ROOT: suite.root } });
  let err = '';
  let sent = false;
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
    if (!sent && /RUN --mount=type=secret/.test(err)) {
      sent = true;
      setTimeout(() => child.kill('SIGTERM'), 500); // the step is waiting in the open of the FIFO
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code: number | null = await new Promise((res) => child.on('close', (c) => res(c)));
  clearTimeout(killer);
  assert.equal(code, 143, err);
  assert.match(err, /^ERROR: build terminated \(SIGTERM\)$/m);
  assert.doesNotMatch(err, /ERROR: Dockerfile:/);
  assert.deepEqual(mountsLeft(), []);
});

test('--output type=oci writes an archive skopeo reads, --iidfile the image id', async (t) => {
  if (!suite.check(t, { ok: which('skopeo') !== undefined, what: 'skopeo' })) return;
  const dir = context('oci-out', ['FROM busybox', 'RUN echo x > /x', 'CMD ["cat", "/x"]', ''].join('\n'));
  const tarPath = join(suite.work, 'out.oci.tar');
  const iid = join(suite.work, 'iid');
  const r = await kiln(['build', '-t', 'e2e/oci:1', '--iidfile', iid, '--output', `type=oci,dest=${tarPath}`, dir]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci-archive:${tarPath}`]).toString()) as { config?: { Cmd?: string[] } };
  assert.deepEqual(info.config?.Cmd, ['cat', '/x']);
  assert.match(readFileSync(iid, 'utf8'), /^sha256:[0-9a-f]{64}$/);
});

test('proxy build args reach RUN but not its cache key (as BuildKit)', async (t) => {
  if (!suite.check(t)) return;
  const dir = context('proxy', ['FROM busybox', 'RUN echo "proxy=$HTTP_PROXY" > /proxy.txt', ''].join('\n'));
  const out = join(suite.work, 'proxy-out');
  const a = await kiln(['build', '--progress', 'plain', '--build-arg', 'HTTP_PROXY=http://proxy-a:3128', '--output', `type=local,dest=${out}`, dir]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(readFileSync(join(out, 'proxy.txt'), 'utf8'), 'proxy=http://proxy-a:3128\n');
  const b = await kiln(['build', '--progress', 'plain', '--build-arg', 'HTTP_PROXY=http://proxy-b:3128', dir]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /0 steps ran/, 'another proxy is not another build');
});

test('--add-host: the entries are in /etc/hosts of every RUN, part of the cache key, never in the image', async (t) => {
  if (!suite.check(t)) return;
  const dir = context('add-host', ['FROM busybox', 'RUN cat /etc/hosts > /hosts.txt', 'RUN ls /etc > /etc-list.txt', ''].join('\n'));
  const out = join(suite.work, 'add-host-out');
  const a = await kiln(['build', '--progress', 'plain', '--add-host', 'db.local:10.0.0.5', '--add-host', 'gw=host-gateway', '--output', `type=local,dest=${out}`, dir]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(
    readFileSync(join(out, 'hosts.txt'), 'utf8'),
    '127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.0.5\tdb.local\n127.0.0.1\tgw\n',
  );
  assert.ok(!existsSync(join(out, 'etc', 'hosts')) || !readFileSync(join(out, 'etc', 'hosts'), 'utf8').includes('db.local'), 'the RUN\'s /etc/hosts is not in the image');
  // the same entries: cached; another IP: the RUN steps run again
  const b = await kiln(['build', '--progress', 'plain', '--add-host', 'db.local:10.0.0.5', '--add-host', 'gw=host-gateway', dir]);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, /0 steps ran/);
  const c = await kiln(['build', '--progress', 'plain', '--add-host', 'db.local:10.0.0.6', '--add-host', 'gw=host-gateway', dir]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /2 steps ran/);
  // a bad entry: a usage error (exit 125) before any work
  const d = await kiln(['build', '--add-host', 'db.local', dir]);
  assert.equal(d.code, 125, d.stderr);
  assert.match(d.stderr, /invalid --add-host "db.local": expected HOST:IP/);
});

test('-o type=tar and -o -: the final stage\'s files as a tar shaped like BuildKit\'s; -o type=docker,dest=- streams the archive', async (t) => {
  if (!suite.check(t)) return;
  const dir = context('tar-out', [
    'FROM busybox AS b',
    'RUN mkdir -p /out/d && echo hi > /out/d/f && ln -s d/f /out/l && mkfifo /out/fifo && chmod 700 /out/d && chown 1:2 /out/d/f && ln /out/d/f /out/hard',
    'FROM scratch',
    'COPY --from=b /out /',
    'COPY a.txt /x/',
    '',
  ].join('\n'), { 'a.txt': 'hello\n' });
  const file = join(suite.work, 'tar-out.tar');
  const a = await kiln(['build', '--progress', 'plain', '-o', `type=tar,dest=${file}`, dir]);
  assert.equal(a.code, 0, a.stderr);
  // what Docker 26's BuildKit writes for this build (tar tv): relative names, no root entry,
  // directories with a trailing slash, a hard link as such, owners by number only
  const listing = (tar: string): string => execFileSync('tar', ['tvf', tar, '--numeric-owner'], { encoding: 'utf8' }).replace(/ \d{4}-\d\d-\d\d \d\d:\d\d /g, ' ');
  assert.equal(listing(file), [
    'drwx------ 0/0               0 d/',
    '-rw-r--r-- 1/2               3 d/f',
    'prw-r--r-- 0/0               0 fifo',
    'hrw-r--r-- 1/2               0 hard link to d/f',
    'lrwxrwxrwx 0/0               0 l -> d/f',
    'drwxr-xr-x 0/0               0 x/',
    '-rw-r--r-- 0/0               6 x/a.txt',
    '',
  ].join('\n'));
  const names = execFileSync('tar', ['tf', file], { encoding: 'utf8' });
  assert.doesNotMatch(names, /(^|\n)\.\/|uname|gname/);
  // -o - : the same tar on stdout (runKiln collects stdout as text, so compare through a shell pipe)
  const viaStdout = spawnSync('sh', ['-c', `"$0" build --progress plain -o - "$1" | tar tv --numeric-owner`, join(PROJECT_ROOT, 'bin', 'kiln'), dir], { encoding: 'utf8', env: { ...process.env, KILN_ROOT: suite.root } });
  assert.equal(viaStdout.status, 0, viaStdout.stderr);
  assert.equal(viaStdout.stdout.replace(/ \d{4}-\d\d-\d\d \d\d:\d\d /g, ' '), listing(file));
  const docker = spawnSync('sh', ['-c', `"$0" build --progress plain -t tar-out:1 -o type=docker,dest=- "$1" | tar t`, join(PROJECT_ROOT, 'bin', 'kiln'), dir], { encoding: 'utf8', env: { ...process.env, KILN_ROOT: suite.root } });
  assert.equal(docker.status, 0, docker.stderr);
  assert.match(docker.stdout, /(^|\n)manifest\.json\n/);
  assert.match(docker.stdout, /(^|\n)repositories\n/);
  // -q would put the image ID on the same stdout: refused before any work
  const q = await kiln(['build', '-q', '-o', '-', dir]);
  assert.equal(q.code, 125);
  assert.match(q.stderr, /-q prints the image ID on stdout/);
});

test('--cgroup-parent: every RUN container is under /PARENT/buildkit/ (as BuildKit), and the parent is in the cache key', async (t) => {
  if (!suite.check(t)) return;
  const parent = `kiln-test-${process.pid}`;
  const dir = context('cgroup-parent', ['FROM busybox', 'RUN cat /proc/self/cgroup > /cg.txt', ''].join('\n'));
  const out = join(suite.work, 'cgroup-parent-out');
  try {
    const a = await kiln(['build', '--progress', 'plain', '--cgroup-parent', parent, '--output', `type=local,dest=${out}`, dir]);
    assert.equal(a.code, 0, a.stderr);
    const lines = readFileSync(join(out, 'cg.txt'), 'utf8').split('\n').filter((l) => /:(memory|pids|cpu,cpuacct|cpuacct,cpu|cpu):/.test(l));
    assert.ok(lines.length > 0, 'cgroup v1 controllers listed');
    for (const l of lines) assert.match(l, new RegExp(`:/${parent}/buildkit/kiln-\\d+-\\d+-[0-9a-f]{8}$`), l);
    const b = await kiln(['build', '--progress', 'plain', '--cgroup-parent', `${parent}-2`, dir]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /1 steps ran/, 'another parent: the RUN runs again');
    const c = await kiln(['build', '--cgroup-parent', 'system.slice:', dir]);
    assert.equal(c.code, 125, c.stderr);
    assert.match(c.stderr, /a systemd slice is not supported/);
  } finally {
    // runc removes each container's own cgroup; the parent/buildkit directories stay, as with BuildKit
    for (const h of readdirSync('/sys/fs/cgroup')) {
      for (const p of [parent, `${parent}-2`]) {
        for (const d of [join('/sys/fs/cgroup', h, p, 'buildkit'), join('/sys/fs/cgroup', h, p)]) spawnSync('rmdir', [d]);
      }
    }
  }
});

test('parallel stages with identical leading steps share them, so a rebuild runs nothing', async (t) => {
  if (!suite.check(t)) return;
  const stage = (n: string) => [`FROM busybox AS ${n}`, 'COPY shared.txt /shared.txt', `RUN sleep 0.5 && cat /shared.txt > /${n}.txt`];
  const dir = context('shared-steps', [...stage('a'), ...stage('b'), ...stage('c'), 'FROM busybox', 'COPY --from=a /a.txt /', 'COPY --from=b /b.txt /', 'COPY --from=c /c.txt /', ''].join('\n'), {
    'shared.txt': `unique ${process.pid} ${Date.now()}\n`,
  });
  const cold = await kiln(['build', '--progress', 'plain', '--jobs', '3', dir]);
  assert.equal(cold.code, 0, cold.stderr);
  assert.match(cold.stderr, /: 7 steps ran, 2 cached/, 'the shared COPY ran once, not three times');
  const warm = await kiln(['build', '--progress', 'plain', '--jobs', '3', dir]);
  assert.equal(warm.code, 0, warm.stderr);
  assert.match(warm.stderr, /: 0 steps ran/, warm.stderr);
});

async function streamToBuffer(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

test('as a non-root user a RUN step fails with a clear "needs root" error, not as the command\'s exit code', async (t) => {
  if (!suite.check(t, { ok: which('setpriv') !== undefined, what: 'setpriv (util-linux)' })) return;
  // a store of its own, owned by nobody, with busybox in it
  const { work: w2, root: r2 } = await busyboxStore('kiln-e2e-nobody-');
  try {
    const ctx = join(w2, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo hi\n');
    // kiln itself, where nobody can read it (the checkout may live under a private /root)
    const copy = join(w2, 'kiln');
    mkdirSync(join(copy, 'node_modules'), { recursive: true });
    execFileSync('cp', ['-a', join(PROJECT_ROOT, 'bin'), join(PROJECT_ROOT, 'dist'), copy]);
    for (const m of ['fs-xattr', 'commander']) execFileSync('cp', ['-a', join(PROJECT_ROOT, 'node_modules', m), join(copy, 'node_modules')]);
    execFileSync('chown', ['-R', '65534:65534', w2]);
    execFileSync('chmod', ['755', w2]);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, join(copy, 'bin', 'kiln.js'), 'build', '--progress', 'plain', ctx], {
      env: { ...process.env, KILN_ROOT: r2, HOME: w2 },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /ERROR: Dockerfile:2: RUN steps need root: kiln runs them with runc, and rootless builds are not supported yet/);
    assert.match(r.stderr, /hint: run kiln as root/);
    assert.doesNotMatch(r.stderr, /rootless container requires user namespaces|did not complete successfully/);
  } finally {
    execFileSync('rm', ['-rf', w2]);
  }
});

test('WORKDIR onto an existing file fails at the WORKDIR line (as BuildKit\'s mkdir does), not at the next RUN', async (t) => {
  if (!suite.check(t)) return;
  const r = await kiln(['build', '--progress', 'plain', context('workdir-file', 'FROM busybox\nWORKDIR /etc/passwd\nRUN pwd\n')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^ERROR: Dockerfile:2: mkdir \/etc\/passwd: not a directory$/m);
  assert.doesNotMatch(r.stderr, /\[stage-0 3\/3\] RUN pwd/, 'the RUN never starts');
});
