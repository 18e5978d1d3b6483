// A build cache shared between machines (CI runners with no common disk) through a real registry
// (Debian's docker-registry on 127.0.0.1) and through an OCI layout directory: two fresh KILN_ROOTs
// stand for two machines with the same busybox base image. The RUN steps write the time and random
// bytes, so a step that re-ran on machine B would change the image digest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Store } from '../../src/store/index.js';
import { runKiln, type CliResult } from '../helpers/cli.js';
import { isRoot, which, prereq } from '../helpers/prereq.js';
import { haveBusybox, makeBusyboxRootfs } from '../helpers/busybox-rootfs.js';
import { addRootfsImage } from '../helpers/kiln-image.js';
import { haveRegistry, startRegistry, type TestRegistry } from '../helpers/registry.js';

const ready = isRoot && which('runc') !== undefined && haveBusybox() && haveRegistry();
const WHAT = 'root, runc, busybox-static and docker-registry';
const SDE = '1700000000';

let work = '';
let rootfs = '';
let registry: TestRegistry | undefined;
let machine = 0;
let baseDigest = '';

const DOCKERFILE = [
  'FROM busybox AS builder',
  'WORKDIR /work',
  'RUN date +%s%N > stamp && head -c 16 /dev/urandom | od -An -tx1 > rand1',
  'COPY input.txt ./',
  'RUN mkdir -p /out && cat input.txt stamp > /out/combined && head -c 16 /dev/urandom | od -An -tx1 > /out/rand2',
  'RUN echo done > /out/done && rm -f /etc/group',
  '',
  'FROM busybox AS final',
  'COPY --from=builder /out /app',
  'RUN ls -l /app > /app/listing && date +%s%N >> /app/listing',
  'CMD ["cat", "/app/listing"]',
  '',
].join('\n');
// WORKDIR, 3 RUNs and a COPY in builder; COPY --from and a RUN in final
const BUILDER_STEPS = 5;
const ALL_STEPS = 7;

before(async () => {
  if (!ready) return;
  work = mkdtempSync(join(tmpdir(), 'kiln-remote-cache-'));
  rootfs = makeBusyboxRootfs(join(work, 'busybox'));
  registry = await startRegistry();
});

after(async () => {
  await registry?.stop();
  if (work) execFileSync('rm', ['-rf', work]);
});

interface Machine {
  readonly root: string;
  /** Its checkout of the build context (another path on every machine, as on CI runners). */
  readonly ctx: string;
  kiln(args: string[]): Promise<CliResult>;
}

/** A fresh machine: its own KILN_ROOT with the busybox image written in (the same bytes every time). */
async function newMachine(opts: { sde?: boolean; dockerConfig?: string } = {}): Promise<Machine> {
  const home = join(work, `machine-${++machine}`);
  const root = join(home, 'kiln-root');
  const desc = await addRootfsImage(Store.open(root), 'docker.io/library/busybox:latest', rootfs, { Cmd: ['sh'] });
  if (baseDigest === '') baseDigest = desc.digest;
  assert.equal(desc.digest, baseDigest, 'every machine has the same base image');
  const ctx = join(home, 'checkout', 'app');
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(ctx, 'input.txt'), 'input from the context\n');
  // no credentials unless given: an empty Docker config dir
  const dockerConfig = opts.dockerConfig ?? join(home, 'docker');
  mkdirSync(dockerConfig, { recursive: true });
  const env = { KILN_ROOT: root, SOURCE_DATE_EPOCH: opts.sde === false ? undefined : SDE, DOCKER_CONFIG: dockerConfig };
  const kiln = (args: string[]) => runKiln(args, { env, timeoutMs: 120_000 });
  return { root, ctx, kiln };
}

/** Builds the machine's context with plain progress; returns the output and the image (manifest) digest. */
async function build(m: Machine, extra: string[]): Promise<{ out: string; digest: string }> {
  const meta = join(m.root, `meta-${Math.random().toString(36).slice(2)}.json`);
  const r = await m.kiln(['build', '--progress', 'plain', '--metadata-file', meta, ...extra, m.ctx]);
  assert.equal(r.code, 0, r.stderr);
  const digest = (JSON.parse(readFileSync(meta, 'utf8')) as Record<string, string>)['containerimage.digest']!;
  return { out: r.stderr, digest };
}

function ranAndCached(out: string): { ran: number; cached: number } {
  const m = /(\d+) steps ran, (\d+) cached/.exec(out);
  assert.ok(m, `no build summary in:\n${out}`);
  return { ran: Number(m[1]), cached: Number(m[2]) };
}

function assertNothingRan(out: string, steps: number): void {
  assert.doesNotMatch(out, /cache miss:/, 'no step may run again');
  assert.deepEqual(ranAndCached(out), { ran: 0, cached: steps }, out);
}

test('mode=max through a registry: machine B re-runs no step, for the target and for another --target', async (t) => {
  if (!prereq(t, ready, WHAT)) return;
  const ref = `${registry!.host}/cache:max`;
  const a = await newMachine();
  const built = await build(a, ['--cache-to', `type=registry,ref=${ref},mode=max`]);
  assert.deepEqual(ranAndCached(built.out), { ran: ALL_STEPS, cached: 0 });
  assert.match(built.out, /exporting cache to .*cache:max \(mode=max\)/);
  const aBuilder = await build(a, ['--target', 'builder']); // all from A's local cache
  assert.equal(ranAndCached(aBuilder.out).ran, 0);

  // B: two --cache-from, the first one missing (a warning, not a failure, like buildx)
  const b = await newMachine();
  const hit = await build(b, ['--cache-from', `type=registry,ref=${registry!.host}/cache:nothing-here`, '--cache-from', `type=registry,ref=${ref}`]);
  assertNothingRan(hit.out, ALL_STEPS);
  assert.match(hit.out, /WARN.*cache:nothing-here|failed to import the registry cache .*cache:nothing-here/);
  assert.match(hit.out, /from the registry cache .*cache:max/);
  assert.equal(hit.digest, built.digest, 'the same image on both machines');

  // B's local cache now has it all: a second build is a plain local hit
  const again = await build(b, []);
  assertNothingRan(again.out, ALL_STEPS);
  assert.doesNotMatch(again.out, /from the registry cache/);
  assert.equal(again.digest, built.digest);

  // C builds the intermediate stage as its target: mode=max exported it too
  const c = await newMachine();
  const other = await build(c, ['--target', 'builder', '--cache-from', `type=registry,ref=${ref}`]);
  assertNothingRan(other.out, BUILDER_STEPS);
  assert.equal(other.digest, aBuilder.digest);
});

test('mode=min exports only the target image chain: another --target re-runs its steps', async (t) => {
  if (!prereq(t, ready, WHAT)) return;
  const ref = `${registry!.host}/cache:min`;
  const a = await newMachine();
  const built = await build(a, ['--cache-to', `type=registry,ref=${ref}`]);
  assert.equal(ranAndCached(built.out).ran, ALL_STEPS);

  // The artifact: an OCI manifest with kiln's cache config, records for the final stage only.
  const res = await fetch(`http://${registry!.host}/v2/cache/manifests/min`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(res.status, 200);
  const manifest = (await res.json()) as { mediaType: string; config: { mediaType: string; digest: string }; layers: { digest: string }[] };
  assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(manifest.config.mediaType, 'application/vnd.kiln.cache.config.v1+json');
  const config = (await (await fetch(`http://${registry!.host}/v2/cache/blobs/${manifest.config.digest}`)).json()) as { mode: string; records: { stage: string; step: number; base?: string; layer?: { digest: string } }[] };
  assert.equal(config.mode, 'min');
  assert.deepEqual(config.records.map((r) => `${r.stage}/${r.step}`), ['final/0', 'final/1']);
  assert.equal(config.records[0]!.base, `image@${baseDigest}`);
  assert.deepEqual(manifest.layers.map((l) => l.digest), config.records.map((r) => r.layer!.digest));

  const b = await newMachine();
  const other = await build(b, ['--target', 'builder', '--cache-from', `type=registry,ref=${ref}`]);
  assert.deepEqual(ranAndCached(other.out), { ran: BUILDER_STEPS, cached: 0 }, other.out);
  assert.match(other.out, /cache miss: no previous build/);
});

test('type=local: an OCI layout directory carries the cache between two roots (no SOURCE_DATE_EPOCH), and a damaged cache only re-runs what it cannot supply', async (t) => {
  if (!prereq(t, ready, WHAT)) return;
  const dir = join(work, 'cache-dir');
  const a = await newMachine({ sde: false });
  const built = await build(a, ['--cache-to', `type=local,dest=${dir},mode=max`]);
  const layout = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  assert.equal(layout.manifests.length, 1);
  assert.equal(layout.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'], 'latest');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });

  // without SOURCE_DATE_EPOCH the times come from the cache records: still the same image
  const b = await newMachine({ sde: false });
  const hit = await build(b, ['--cache-from', `type=local,src=${dir}`]);
  assertNothingRan(hit.out, ALL_STEPS);
  assert.match(hit.out, /from the local cache /);
  assert.equal(hit.digest, built.digest);

  // Damage a copy: the final RUN's blob is garbage, the builder's last RUN claims a wrong diffId.
  const bad = join(work, 'cache-dir-damaged');
  execFileSync('cp', ['-a', dir, bad]);
  const blob = (d: string): string => join(bad, 'blobs', 'sha256', d.slice('sha256:'.length));
  const manifest = JSON.parse(readFileSync(blob(layout.manifests[0]!.digest), 'utf8')) as { config: { digest: string; size: number }; layers: unknown[] };
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8')) as { records: { stage: string; step: number; layer?: { digest: string; diffId: string } }[] };
  const finalRun = config.records.find((r) => r.stage === 'final' && r.step === 1)!.layer!;
  const lastBuilderRun = config.records.find((r) => r.stage === 'builder' && r.step === 4)!.layer!;
  writeFileSync(blob(finalRun.digest), Buffer.alloc(statSync(blob(finalRun.digest)).size, 7));
  lastBuilderRun.diffId = `sha256:${'0'.repeat(64)}`;
  const put = (bytes: Buffer): { digest: string; size: number } => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(blob(digest), bytes);
    return { digest, size: bytes.length };
  };
  manifest.config = { ...manifest.config, ...put(Buffer.from(JSON.stringify(config))) };
  const m = put(Buffer.from(JSON.stringify(manifest)));
  writeFileSync(join(bad, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }));

  const c = await newMachine({ sde: false });
  const partial = await build(c, ['--cache-from', `type=local,src=${bad}`]);
  assert.match(partial.out, /cannot apply the layer of RUN echo done.*uncompresses to sha256:\w+, but the cache record says sha256:0{64}/);
  assert.match(partial.out, /cannot fetch the layer of RUN ls -l \/app/);
  // the builder's last RUN ran again (same output), COPY --from still came from the cache, the final RUN ran
  assert.deepEqual(ranAndCached(partial.out), { ran: 2, cached: ALL_STEPS - 2 }, partial.out);
  assert.match(partial.out, /\[final 2\/3\] COPY --from=builder \/out \/app\n#\d+ [\d.]+ from the local cache/);
});

test('a registry with basic auth: credentials from the Docker config; without them import warns and export fails (or warns with ignore-error=true)', async (t) => {
  if (!prereq(t, ready && which('htpasswd') !== undefined, `${WHAT} and htpasswd`)) return;
  const user = { username: 'ci', password: 'runner-secret' };
  const secured = await startRegistry({ basicAuth: [user] });
  try {
    const creds = join(work, 'docker-with-creds');
    mkdirSync(creds, { recursive: true });
    writeFileSync(join(creds, 'config.json'), JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${user.username}:${user.password}`).toString('base64') } } }));
    const ref = `${secured.host}/team/cache:main`;
    const a = await newMachine({ dockerConfig: creds });
    const built = await build(a, ['--cache-to', `type=registry,ref=${ref},mode=max`]);
    const b = await newMachine({ dockerConfig: creds });
    const hit = await build(b, ['--cache-from', ref]);
    assertNothingRan(hit.out, ALL_STEPS);
    assert.equal(hit.digest, built.digest);

    // no credentials: the import is a warning (everything runs), the export an error naming the registry
    const anon = await newMachine();
    const cold = await build(anon, ['--cache-from', ref]);
    assert.match(cold.out, /failed to import the registry cache .*authentication required by 127\.0\.0\.1/);
    assert.equal(ranAndCached(cold.out).ran, ALL_STEPS);
    const denied = await anon.kiln(['build', '--progress', 'plain', '--cache-to', `type=registry,ref=${ref}`, anon.ctx]);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /exporting the registry cache .* failed: authentication required by 127\.0\.0\.1/);
    assert.doesNotMatch(denied.stderr, /runner-secret/);
    const ignored = await build(anon, ['--cache-to', `type=registry,ref=${ref},ignore-error=true`]);
    assert.match(ignored.out, /exporting the registry cache .* failed \(ignored\)/);
  } finally {
    await secured.stop();
  }
});

test('cache specs: unknown types and keys are usage errors, inline/gha/s3 are not implemented', async (t) => {
  if (!prereq(t, ready, WHAT)) return;
  const m = await newMachine();
  const cases: [string[], RegExp][] = [
    [['--cache-to', 'type=gha'], /--cache-to type=gha is not supported/],
    [['--cache-from', 'type=s3,region=x'], /--cache-from type=s3 is not supported/],
    [['--cache-to', 'type=inline'], /--cache-to type=inline is not supported/],
    [['--cache-to', 'type=registry,ref=127.0.0.1:1/c:x,colour=blue'], /unknown key colour= for type=registry/],
    [['--cache-to', 'type=registry,ref=127.0.0.1:1/c:x,mode=all'], /mode must be min or max/],
    [['--cache-from', 'type=floppy,src=/x'], /unknown cache type "floppy"/],
    [['--cache-from', 'type=local'], /type=local needs src=/],
  ];
  for (const [args, re] of cases) {
    const r = await m.kiln(['build', '--progress', 'plain', ...args, m.ctx]);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  }
});
