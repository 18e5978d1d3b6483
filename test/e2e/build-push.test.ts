// `kiln build --push`: the built image goes to every -t name's registry (a real docker-registry on
// 127.0.0.1), and what skopeo sees there is the digest kiln printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Store } from '../../src/store/index.js';
import { runKiln } from '../helpers/cli.js';
import { isRoot, which, prereq } from '../helpers/prereq.js';
import { haveBusybox, makeBusyboxRootfs } from '../helpers/busybox-rootfs.js';
import { addRootfsImage } from '../helpers/kiln-image.js';
import { haveRegistry, startRegistry, type TestRegistry } from '../helpers/registry.js';

let root = '';
let work = '';
let reg: TestRegistry | undefined;
const ready = isRoot && which('runc') !== undefined && haveBusybox() && haveRegistry() && which('skopeo') !== undefined;
const WHAT = 'root, runc, busybox-static, docker-registry and skopeo (bash scripts/ensure-deps.sh)';
const kiln = (args: string[]) => runKiln(args, { env: { KILN_ROOT: root, DOCKER_CONFIG: join(work, 'docker') }, timeoutMs: 120_000 });

before(async () => {
  if (!ready) return;
  work = mkdtempSync(join(tmpdir(), 'kiln-push-'));
  root = join(work, 'root');
  await addRootfsImage(Store.open(root), 'docker.io/library/busybox:latest', makeBusyboxRootfs(join(work, 'busybox')), { Cmd: ['sh'] });
  mkdirSync(join(work, 'ctx'));
  writeFileSync(join(work, 'ctx', 'Dockerfile'), 'FROM busybox\nRUN echo pushed > /msg\nCMD ["cat", "/msg"]\n');
  reg = await startRegistry();
});

after(async () => {
  await reg?.stop();
  if (work) execFileSync('rm', ['-rf', work]);
});

function skopeoInspect(ref: string): { Digest: string; Layers: string[] } {
  return JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' })) as { Digest: string; Layers: string[] };
}

test('kiln build -t REG/app:1 -t REG/team/app:latest --push: both names in the registry, with the digest kiln printed', async (t) => {
  if (!prereq(t, ready, WHAT)) return;
  const a = `${reg!.host}/app:1`;
  const b = `${reg!.host}/team/app:latest`;
  const meta = join(work, 'meta.json');
  const r = await kiln(['build', '--progress', 'plain', '--metadata-file', meta, '-t', a, '-t', b, '--push', join(work, 'ctx')]);
  assert.equal(r.code, 0, r.stderr);
  const manifestDigest = (JSON.parse(readFileSync(meta, 'utf8')) as Record<string, string>)['containerimage.digest']!;
  const printed = [...r.stderr.matchAll(/^pushed (\S+)@(sha256:[0-9a-f]{64})$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(printed, [[a, manifestDigest], [b, manifestDigest]]);
  assert.match(r.stderr, /^ {2}1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
  assert.match(r.stderr, /^ {2}[0-9a-f]{12}: Mounted from app$/m, 'the second name mounts what the first pushed');
  assert.equal([...r.stderr.matchAll(/: Pushed$/gm)].length, 3, 'each blob uploaded once (2 layers and the config)');
  // after the push: the summary is still the last line
  assert.match(r.stderr.trimEnd().split('\n').pop()!, /^built in /);
  for (const ref of [a, b]) assert.equal(skopeoInspect(ref).Digest, manifestDigest);

  // -q --push: only the image id on stdout, and the push still happens
  const c = `${reg!.host}/quiet:2`;
  const q = await kiln(['build', '-q', '-t', c, '--push', join(work, 'ctx')]);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(q.stderr, '');
  assert.equal(skopeoInspect(c).Digest, manifestDigest);

  // -o type=registry,name=N is -t N --push (buildx's shortcut for type=image,push=true)
  const d = `${reg!.host}/output-registry:3`;
  const o = await kiln(['build', '-q', '-o', `type=registry,name=${d}`, join(work, 'ctx')]);
  assert.equal(o.code, 0, o.stderr);
  assert.equal(skopeoInspect(d).Digest, manifestDigest);
});

test('kiln build --push without -t is a usage error before any work; an unreachable registry fails the build', async (t) => {
  if (!prereq(t, ready, WHAT)) return;
  const r = await kiln(['build', '--push', join(work, 'ctx')]);
  assert.equal(r.code, 125, r.stderr);
  assert.match(r.stderr, /--push needs a name to push to/);
  assert.doesNotMatch(r.stderr, /#1 /);
  // a port nothing listens on (the registry's, once stopped, would race; port 9 is discard/closed here)
  const dead = await kiln(['build', '--progress', 'plain', '-t', '127.0.0.1:9/app:1', '--push', join(work, 'ctx')]);
  assert.notEqual(dead.code, 0);
  assert.match(dead.stderr, /127\.0\.0\.1:9/);
  assert.doesNotMatch(dead.stderr, /^pushed /m);
});

test('--pull: missing keeps the stored base image; a bare --pull (docker build style) takes the registry\'s current one', async (t) => {
  if (!prereq(t, ready, WHAT)) return;
  // a second machine publishes the base image; this one builds on it
  const pubRoot = join(work, 'publisher');
  await addRootfsImage(Store.open(pubRoot), 'docker.io/library/busybox:latest', makeBusyboxRootfs(join(work, 'busybox-pub')), { Cmd: ['sh'] });
  const publish = async (v: string) => {
    const ctx = join(work, `pub-${v}`);
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM busybox\nRUN echo ${v} > /v\n`);
    const r = await runKiln(['build', '-q', '-t', `${reg!.host}/base:1`, '--push', ctx], { env: { KILN_ROOT: pubRoot, DOCKER_CONFIG: join(work, 'docker') }, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
  };
  const ctx = join(work, 'consumer');
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${reg!.host}/base:1\nRUN cat /v > /seen\n`);
  const seen = async (...flags: string[]): Promise<string> => {
    const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
    const r = await kiln(['build', '--progress', 'plain', ...flags, '-o', `type=local,dest=${out}`, ctx]);
    assert.equal(r.code, 0, r.stderr);
    return readFileSync(join(out, 'seen'), 'utf8').trim();
  };
  await publish('one');
  assert.equal(await seen(), 'one', 'not in the store: pulled (--pull=missing)');
  await publish('two');
  assert.equal(await seen(), 'one', 'in the store: no registry lookup by default');
  assert.equal(await seen('--pull=never'), 'one');
  assert.equal(await seen('--pull'), 'two', 'a bare --pull before the context pulls the current image');
  await publish('three');
  assert.equal(await seen('--pull', 'always'), 'three');
  const bad = await kiln(['build', '--pull=sometimes', ctx]);
  assert.equal(bad.code, 125, bad.stderr);
  assert.match(bad.stderr, /invalid --pull "sometimes": use missing, always or never/);
  writeFileSync(join(ctx, 'Dockerfile.dead'), 'FROM 127.0.0.1:9/base:1\n');
  const dead = await kiln(['build', '--pull', '-f', join(ctx, 'Dockerfile.dead'), ctx]);
  assert.equal(dead.code, 1, dead.stderr);
  assert.match(dead.stderr, /127\.0\.0\.1:9\/base:1: pulling it failed \(--pull=always\)/);
});
