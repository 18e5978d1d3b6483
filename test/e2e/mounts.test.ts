// RUN --mount end to end (real CLI, runc, overlayfs, busybox): cache mounts persist between
// builds, sharing=locked serialises and sharing=private separates concurrent steps, from= seeds
// a cache; secrets reach the step but no layer, history, record or log; bind from= a stage reads
// its files without copying them; ssh forwards a real ssh-agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, lstatSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Store, loadImage } from '../../src/store/index.js';
import { decompressLayer } from '../../src/layer/index.js';
import { runKiln, KILN_BIN } from '../helpers/cli.js';
import { isRoot, which, prereq } from '../helpers/prereq.js';
import { haveBusybox, makeBusyboxRootfs } from '../helpers/busybox-rootfs.js';
import { addRootfsImage } from '../helpers/kiln-image.js';

let root = '';
let work = '';
const ready = isRoot && which('runc') !== undefined && haveBusybox();

before(async () => {
  if (!ready) return;
  work = mkdtempSync(join(tmpdir(), 'kiln-e2e-mounts-'));
  root = join(work, 'root');
  await addRootfsImage(Store.open(root), 'docker.io/library/busybox:latest', makeBusyboxRootfs(join(work, 'busybox')), { Cmd: ['sh'] });
});

after(() => {
  if (work) execFileSync('rm', ['-rf', work]);
});

const kiln = (args: string[], env: Record<string, string> = {}) => runKiln(args, { env: { KILN_ROOT: root, ...env }, timeoutMs: 120_000 });

function context(name: string, dockerfile: string, files: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  for (const [p, c] of Object.entries(files)) writeFileSync(join(dir, p), c);
  return dir;
}

async function bytes(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Every layer of a stored image, decompressed, plus its config blob. */
async function imageBytes(name: string): Promise<{ layers: Buffer[]; config: Buffer }> {
  const store = Store.open(root);
  const img = await loadImage(store, name, { decompress: () => createGunzip() });
  const m = await img.manifest();
  const layers: Buffer[] = [];
  for (const l of m.layers) layers.push(await bytes(await decompressLayer(Readable.from((await store.open(l.digest)) as AsyncIterable<Buffer>), l.mediaType)));
  return { layers, config: await store.readBytes(m.config.digest) };
}

/** Paths of files under `dir` whose bytes contain `needle` (a plain recursive grep that skips sockets and devices). */
function grepTree(dir: string, needle: Buffer): string[] {
  const hits: string[] = [];
  const buf = Buffer.alloc(1 << 20);
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) {
      for (const n of readdirSync(p)) walk(join(p, n));
      return;
    }
    if (!st.isFile()) return;
    const fd = openSync(p, 'r');
    try {
      let carry = Buffer.alloc(0);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        const chunk = Buffer.concat([carry, buf.subarray(0, n)]);
        if (chunk.includes(needle)) {
          hits.push(p);
          break;
        }
        carry = chunk.subarray(Math.max(0, chunk.length - needle.length));
      }
    } finally {
      closeSync(fd);
    }
  };
  walk(dir);
  return hits;
}

test('type=cache persists between builds; from= seeds a cache from a stage', async (t) => {
  if (!prereq(t, ready, 'root, runc and busybox-static')) return;
  const a = context('cache-a', 'FROM busybox\nRUN --mount=type=cache,target=/var/cache/app,id=appcache echo written-by-first > /var/cache/app/note\n');
  const b = context('cache-b', 'FROM busybox\nRUN --mount=type=cache,target=/cache,id=appcache cp /cache/note /found && ls /cache > /listing\n');
  const out = join(work, 'cache-out');
  assert.equal((await kiln(['build', a])).code, 0);
  const r = await kiln(['build', '--output', `type=local,dest=${out}`, b]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(out, 'found'), 'utf8'), 'written-by-first\n');
  // busybox has no /var: the mount point runc had to create is not part of the step's change
  assert.deepEqual(readdirSync(out).filter((n) => n === 'cache' || n === 'var'), [], 'the mount point leaves nothing in the image');

  const seeded = context('cache-seed', [
    'FROM busybox AS deps',
    'RUN mkdir -p /opt/seed && echo from-stage > /opt/seed/s.txt',
    'FROM busybox',
    'RUN --mount=type=cache,target=/c,from=deps,source=/opt/seed cat /c/s.txt > /seen && echo more > /c/added',
    'RUN --mount=type=cache,target=/c,from=deps,source=/opt/seed cat /c/added > /seen2',
    '',
  ].join('\n'));
  const out2 = join(work, 'seed-out');
  const s = await kiln(['build', '--output', `type=local,dest=${out2}`, seeded]);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(readFileSync(join(out2, 'seen'), 'utf8'), 'from-stage\n');
  assert.equal(readFileSync(join(out2, 'seen2'), 'utf8'), 'more\n', 'a seeded cache is a cache: writes persist');
});

test('sharing=locked runs one step at a time; sharing=private gives concurrent steps their own directory', async (t) => {
  if (!prereq(t, ready, 'root, runc and busybox-static')) return;
  const stamp = (n: string, sharing: string) =>
    `RUN --mount=type=cache,target=/c,id=${sharing}-test,sharing=${sharing} ls /c > /${n}.seen; touch /c/${n}; s=$(cut -d' ' -f1 /proc/uptime); sleep 1; e=$(cut -d' ' -f1 /proc/uptime); echo "$s $e" > /${n}.t`;
  const dir = context('sharing', [
    'FROM busybox AS a', stamp('a', 'locked'),
    'FROM busybox AS b', stamp('b', 'locked'),
    'FROM busybox AS c', stamp('c', 'private'),
    'FROM busybox AS d', stamp('d', 'private'),
    'FROM busybox',
    'COPY --from=a /a.t /a.seen /', 'COPY --from=b /b.t /b.seen /', 'COPY --from=c /c.t /c.seen /', 'COPY --from=d /d.t /d.seen /',
    '',
  ].join('\n'));
  const out = join(work, 'sharing-out');
  const r = await kiln(['build', '--jobs', '4', '--output', `type=local,dest=${out}`, dir]);
  assert.equal(r.code, 0, r.stderr);
  const span = (n: string): [number, number] => readFileSync(join(out, `${n}.t`), 'utf8').trim().split(' ').map(Number) as [number, number];
  const [as, ae] = span('a');
  const [bs, be] = span('b');
  assert.ok(ae <= bs || be <= as, `locked: a [${as}, ${ae}] and b [${bs}, ${be}] must not overlap`);
  const seen = (n: string): string => readFileSync(join(out, `${n}.seen`), 'utf8');
  assert.ok(seen('a') === '' || seen('b') === '', 'locked: one of them ran first on the shared directory');
  assert.ok(seen('a').includes('b') || seen('b').includes('a'), 'locked: both used the same directory');
  const [cs, ce] = span('c');
  const [ds, de] = span('d');
  if (cs < de && ds < ce) {
    // they overlapped, so each must have had a directory of its own
    assert.doesNotMatch(seen('c'), /\bd\b/);
    assert.doesNotMatch(seen('d'), /\bc\b/);
  }
  assert.ok(readdirSync(join(root, 'build', 'cache-mounts')).length >= 2);
});

test('type=secret: the step reads it (file, env, mode/uid), yet the value is nowhere: not in KILN_ROOT, layers, config, history, records or output', async (t) => {
  if (!prereq(t, ready, 'root, runc and busybox-static')) return;
  const value = `kiln-secret-${Math.random().toString(36).slice(2)}-value`;
  const secretFile = join(work, 'token.txt');
  writeFileSync(secretFile, value);
  const sum = createHash('sha256').update(value).digest('hex');
  // the step compares the secret with its sha256 (a build arg), so the value itself is in no instruction
  const dir = context('secret', [
    'FROM busybox',
    'ARG SUM',
    'RUN --mount=type=secret,id=tok test "$(sha256sum < /run/secrets/tok | cut -d" " -f1)" = "$SUM" && stat -c "%a %u %g" /run/secrets/tok > /file-meta && wc -c < /run/secrets/tok > /len',
    'RUN --mount=type=secret,id=tok,target=/etc/tok,mode=0440,uid=1000,gid=50 stat -c "%a %u %g" /etc/tok > /meta2 && cp /etc/tok /dev/null',
    'RUN --mount=type=secret,id=envtok,env=API_TOKEN test "$(printf %s "$API_TOKEN" | sha256sum | cut -d" " -f1)" = "$SUM" && echo env-ok > /env-ok',
    'RUN --mount=type=secret,id=absent echo optional secret skipped > /optional',
    '',
  ].join('\n'));
  const out = join(work, 'secret-out');
  const r = await kiln(
    ['build', '--progress', 'plain', '--explain', '-t', 'e2e/secret:1', '--secret', `id=tok,src=${secretFile}`, '--secret', 'id=envtok,env=MY_TOKEN', '--build-arg', `SUM=${sum}`, '--output', `type=local,dest=${out}`, dir],
    { MY_TOKEN: value },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(out, 'file-meta'), 'utf8'), '400 0 0\n');
  assert.equal(readFileSync(join(out, 'meta2'), 'utf8'), '440 1000 50\n');
  assert.equal(readFileSync(join(out, 'len'), 'utf8').trim(), String(value.length));
  assert.equal(readFileSync(join(out, 'env-ok'), 'utf8'), 'env-ok\n');
  assert.equal(readFileSync(join(out, 'optional'), 'utf8'), 'optional secret skipped\n');
  assert.deepEqual(readdirSync(out).filter((n) => n === 'run'), [], 'the secret mount point leaves nothing behind');

  const needle = Buffer.from(value);
  assert.ok(!r.stderr.includes(value) && !r.stdout.includes(value), 'build output');
  const img = await imageBytes('docker.io/e2e/secret:1');
  for (const [i, l] of img.layers.entries()) assert.ok(!l.includes(needle), `layer ${i}`);
  assert.ok(!img.config.includes(needle), 'config and history');
  assert.deepEqual(grepTree(root, needle), [], 'nothing under KILN_ROOT (blobs, cache records, snapshots, stat cache, tmp)');
  assert.deepEqual(grepTree(out, needle), [], 'the exported rootfs');

  const missing = await kiln(['build', '--progress', 'plain', context('secret-req', 'FROM busybox\nRUN --mount=type=secret,id=needed,required=true cat /run/secrets/needed\n')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /secret needed not found/);
  assert.match(missing.stderr, /--secret id=needed,src=FILE/);

  // BuildKit's 500 KiB limit: a bigger file is refused when the flag is read, a device (size
  // unknown) when a RUN mounts it, before it fills memory; exactly 500 KiB passes
  const limitCtx = context('secret-limit', 'FROM busybox\nRUN --mount=type=secret,id=s wc -c < /run/secrets/s\n');
  writeFileSync(join(work, 'big-secret'), Buffer.alloc(500 * 1024 + 1, 1));
  const big = await kiln(['build', '--progress', 'plain', '--secret', `id=s,src=${join(work, 'big-secret')}`, limitCtx]);
  assert.equal(big.code, 125, big.stderr);
  assert.match(big.stderr, /secret s too big\. max size 500KB/);
  assert.doesNotMatch(big.stderr, /#1 /, 'refused before any step');
  const zero = await kiln(['build', '--progress', 'plain', '--no-cache', '--secret', 'id=s,src=/dev/zero', limitCtx]);
  assert.notEqual(zero.code, 0, zero.stderr);
  assert.match(zero.stderr, /secret s too big\. max size 500KB/);
  writeFileSync(join(work, 'max-secret'), Buffer.alloc(500 * 1024, 1));
  const max = await kiln(['build', '--progress', 'plain', '--no-cache', '--secret', `id=s,src=${join(work, 'max-secret')}`, limitCtx]);
  assert.equal(max.code, 0, max.stderr);
  assert.match(max.stderr, /^#2 [\d.]+ 512000$/m);
});

test('type=bind,from=builder reads the builder\'s files without copying them into a layer', async (t) => {
  if (!prereq(t, ready, 'root, runc and busybox-static')) return;
  const dir = context('bindfrom', [
    'FROM busybox AS builder',
    'RUN mkdir -p /out && head -c 300000 /dev/zero | tr "\\0" "B" > /out/big.bin && echo tool-output > /out/result.txt',
    'FROM busybox',
    'RUN --mount=type=bind,from=builder,source=/out,target=/mnt wc -c < /mnt/big.bin > /size && cat /mnt/result.txt > /result',
    '',
  ].join('\n'));
  const r = await kiln(['build', '--progress', 'plain', '-t', 'e2e/bindfrom:1', dir]);
  assert.equal(r.code, 0, r.stderr);
  const img = await imageBytes('docker.io/e2e/bindfrom:1');
  const last = img.layers[img.layers.length - 1]!;
  // (the top-level /dev, /proc, /sys runc creates stay in a RUN layer, as in BuildKit)
  const listing = execFileSync('tar', ['-tf', '-'], { input: last }).toString().split('\n').filter((l) => l !== '' && !['dev/', 'proc/', 'sys/'].includes(l)).sort();
  assert.deepEqual(listing, ['result', 'size']);
  assert.equal(execFileSync('tar', ['-xOf', '-', 'size'], { input: last }).toString(), '300000\n');
  assert.equal(execFileSync('tar', ['-xOf', '-', 'result'], { input: last }).toString(), 'tool-output\n');
  assert.ok(!img.layers.some((l) => l.includes(Buffer.from('BBBBBBBBBBBBBBBB'))), 'the big file is in no layer');
  // the mount's content is a key input: a change in the builder's files re-runs the step
  writeFileSync(join(dir, 'Dockerfile'), readFileSync(join(dir, 'Dockerfile'), 'utf8').replace('tool-output', 'tool-output-2'));
  const again = await kiln(['build', '--progress', 'plain', dir]);
  assert.match(again.stderr, /cache miss: out\/result\.txt in stage builder changed/);
});

test('type=ssh forwards a real ssh-agent through a socket owned by the step\'s uid', async (t) => {
  if (!prereq(t, ready && which('ssh-agent') !== undefined && which('ssh-keygen') !== undefined, 'root, runc, busybox-static and openssh-client')) return;
  const agentDir = mkdtempSync(join(work, 'agent-'));
  const sock = join(agentDir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50; i++) {
      try {
        if (lstatSync(sock).isSocket()) break;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kiln-test-key', '-f', join(agentDir, 'id')]);
    execFileSync('ssh-add', [join(agentDir, 'id')], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
    // busybox has no unix-socket client: the step shows the socket and waits while the test lists
    // the agent's keys through the forwarded socket, exactly where the step's SSH_AUTH_SOCK leads
    const dir = context('ssh', 'FROM busybox\nRUN --mount=type=ssh,uid=1000 echo "sock=$SSH_AUTH_SOCK" && stat -c "%F %a %u" $SSH_AUTH_SOCK && sleep 3\n');
    const child = spawn(KILN_BIN, ['build', '--no-cache', '--progress', 'plain', '--ssh', `default=${sock}`, dir], { env: { ...process.env, KILN_ROOT: root } });
    let err = '';
    let keys = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const seenSock = new Promise<void>((res) => {
      const tick = setInterval(() => {
        if (!/socket 600 1000/.test(err)) return;
        clearInterval(tick);
        const tmp = join(root, 'build', 'tmp');
        const proxy = readdirSync(tmp).filter((n) => n.startsWith('kiln-ssh-')).map((n) => join(tmp, n, 'agent.sock'))[0];
        if (proxy) keys = execFileSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: proxy } }).toString();
        res();
      }, 50);
    });
    const code: number | null = await new Promise((res) => child.on('close', (c) => res(c)));
    await Promise.race([seenSock, new Promise((r) => setTimeout(r, 100))]);
    assert.equal(code, 0, err);
    assert.match(err, /sock=\/run\/buildkit\/ssh_agent\.0/);
    assert.match(err, /socket 600 1000/);
    assert.match(keys, /kiln-test-key/);
    assert.deepEqual(readdirSync(join(root, 'build', 'tmp')).filter((n) => n.startsWith('kiln-ssh-')), [], 'the proxy socket is gone after the step');
  } finally {
    agent.kill();
  }
});

test('--ssh ID=KEYFILE serves the key through an agent of kiln\'s own, stopped after the build; a key with a passphrase is refused', async (t) => {
  if (!prereq(t, ready && which('ssh-agent') !== undefined && which('ssh-keygen') !== undefined, 'root, runc, busybox-static and openssh-client')) return;
  const keyDir = mkdtempSync(join(work, 'keys-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kiln-keyfile', '-f', join(keyDir, 'id')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret-pass', '-C', 'locked', '-f', join(keyDir, 'locked')]);
  const dir = context('ssh-keyfile', 'FROM busybox\nRUN --mount=type=ssh,id=deploy stat -c "%F" $SSH_AUTH_SOCK && sleep 3\n');
  const child = spawn(KILN_BIN, ['build', '--no-cache', '--progress', 'plain', '--ssh', `deploy=${join(keyDir, 'id')}`, dir], { env: { ...process.env, KILN_ROOT: root } });
  let err = '';
  let keys = '';
  child.stderr.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const tick = setInterval(() => {
    if (keys !== '' || !/\bsocket\b/.test(err)) return;
    const tmp = join(root, 'build', 'tmp');
    const proxy = readdirSync(tmp).filter((n) => n.startsWith('kiln-ssh-')).map((n) => join(tmp, n, 'agent.sock'))[0];
    if (proxy) keys = execFileSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: proxy } }).toString();
  }, 50);
  const code: number | null = await new Promise((res) => child.on('close', (c) => res(c)));
  clearInterval(tick);
  assert.equal(code, 0, err);
  assert.match(keys, /kiln-keyfile/, 'the step\'s agent holds the key file\'s key');
  const left = () => readdirSync(join(root, 'build', 'tmp')).filter((n) => n.startsWith('kiln-sshkeys-'));
  assert.deepEqual(left(), [], 'the agent\'s socket is gone after the build');
  assert.doesNotMatch(execFileSync('ps', ['-eo', 'args']).toString(), /ssh-agent -D -a .*kiln-sshkeys-/, 'the agent is stopped');
  const locked = await kiln(['build', '--no-cache', '--progress', 'plain', '--ssh', `default=${join(keyDir, 'locked')}`, dir]);
  assert.equal(locked.code, 125, locked.stderr);
  assert.match(locked.stderr, /^ERROR: --ssh default=.*locked: cannot load the key/m);
  assert.match(locked.stderr, /a key with a passphrase must be added to an agent first/);
  assert.deepEqual(left(), []);
});

test('a bind mount of the context hides .dockerignored files, and only what it shows is a key input', async (t) => {
  if (!prereq(t, ready, 'root, runc and busybox-static')) return;
  const dir = context('ctxbind', 'FROM busybox\nRUN --mount=type=bind,target=/c ls -a /c > /listing && cat /c/keep.txt > /kept\n', {
    '.dockerignore': 'ignored.txt\n',
    'ignored.txt': 'hidden\n',
    'keep.txt': 'kept\n',
  });
  const out = join(work, 'ctxbind-out');
  const r = await kiln(['build', '--progress', 'plain', '--output', `type=local,dest=${out}`, dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readFileSync(join(out, 'listing'), 'utf8').split('\n').filter(Boolean), ['.', '..', '.dockerignore', 'Dockerfile', 'keep.txt']);
  writeFileSync(join(dir, 'ignored.txt'), 'hidden, changed\n');
  const same = await kiln(['build', '--progress', 'plain', dir]);
  assert.match(same.stderr, /0 steps ran/);
  writeFileSync(join(dir, 'keep.txt'), 'kept, changed\n');
  const changed = await kiln(['build', '--progress', 'plain', dir]);
  assert.match(changed.stderr, /#2 cache miss: keep\.txt changed/);
});
