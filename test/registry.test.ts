// kiln's registry client against the real docker-registry (distribution 2.8), with skopeo as the
// independent second implementation: what one pushes the other must read, digests agreeing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KilnError } from '../src/errors.js';
import { MediaType } from '../src/image/index.js';
import { type BlobSink, type BlobSource, RegistryClient, formatReference, parseNormalizedReference, pull, push } from '../src/registry/index.js';
import { Store } from '../src/store/index.js';
import { OciDir, makeImage, makeIndex } from './helpers/oci-layout.js';
import { type TestRegistry, haveRegistry, startRegistry } from './helpers/registry.js';
import { prereq, which } from './helpers/prereq.js';

const run = promisify(execFile);
const HAVE = haveRegistry() && which('skopeo') !== undefined;
const WHAT = 'docker-registry and skopeo (bash scripts/ensure-deps.sh)';
const tmp = (p: string): string => mkdtempSync(join(tmpdir(), `kiln-${p}-`));

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', ['--insecure-policy', ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

function isKiln(code: string, re?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof KilnError, `expected KilnError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  };
}

describe('registry: plain registry', () => {
  let reg: TestRegistry | undefined;
  const dirs: string[] = [];
  const client = (): RegistryClient => new RegistryClient(reg!.host, { retry: { baseDelayMs: 5 } });
  before(async () => {
    if (HAVE) reg = await startRegistry();
  });
  after(async () => {
    await reg?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const newDir = (p: string): OciDir => {
    const d = tmp(p);
    dirs.push(d);
    return new OciDir(d);
  };

  test('kiln push → skopeo inspect and copy back; a second push skips every blob', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const src = newDir('src');
    const img = makeImage(src, { layerSizes: [2000, 300_000] });
    const c = client();
    const ref = parseNormalizedReference(`${reg!.host}/kiln/app:v1`);
    const res = await push(c, ref, img.manifest, src);
    assert.equal(res.digest, img.manifest.digest);
    assert.deepEqual(res.blobs.map((b) => b.outcome).sort(), ['uploaded', 'uploaded', 'uploaded']);
    const raw = await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${reg!.host}/kiln/app:v1`);
    assert.equal(raw, src.read(img.manifest.digest).toString('utf8'));
    const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${reg!.host}/kiln/app:v1`)) as { Digest: string; Layers: string[] };
    assert.equal(info.Digest, img.manifest.digest);
    assert.deepEqual(info.Layers, img.layers.map((l) => l.digest));
    const out = newDir('skopeo-out');
    await skopeo('copy', '--src-tls-verify=false', `docker://${reg!.host}/kiln/app:v1`, `oci:${out.dir}:v1`);
    for (const l of img.layers) assert.deepEqual(out.read(l.digest), src.read(l.digest));
    assert.deepEqual(out.read(img.config.digest), src.read(img.config.digest));
    const again = await push(c, ref, img.manifest, src);
    assert.deepEqual(again.blobs.map((b) => b.outcome), ['exists', 'exists', 'exists']);
    c.close();
  });

  test('cross-repo mount when hinted, chunked upload above the threshold', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const src = newDir('mount');
    const img = makeImage(src, { layerSizes: [100_000, 70_000] });
    const c = client();
    await push(c, parseNormalizedReference(`${reg!.host}/kiln/base:1`), img.manifest, src, { chunkThreshold: 1, chunkSize: 16_384 });
    const raw = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${reg!.host}/kiln/base:1`)) as { Digest: string };
    assert.equal(raw.Digest, img.manifest.digest);
    const out = newDir('chunked-out');
    await skopeo('copy', '--src-tls-verify=false', `docker://${reg!.host}/kiln/base:1`, `oci:${out.dir}:x`);
    for (const l of img.layers) assert.deepEqual(out.read(l.digest), src.read(l.digest));
    const res = await push(c, parseNormalizedReference(`${reg!.host}/kiln/derived:1`), img.manifest, src, { mountFrom: ['kiln/base'] });
    assert.deepEqual(res.blobs.map((b) => b.outcome).sort(), ['mounted', 'mounted', 'mounted']);
    assert.equal(await c.hasBlob('kiln/derived', img.layers[0]!.digest), true);
    c.close();
  });

  test('skopeo copy → kiln pull: same manifest, config and layers', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const src = newDir('layout');
    const img = makeImage(src, { layerSizes: [500, 200_000, 10] });
    src.writeIndex([{ desc: img.manifest, tag: 'v2' }]);
    await skopeo('copy', '--dest-tls-verify=false', `oci:${src.dir}:v2`, `docker://${reg!.host}/other/app:v2`);
    const dest = newDir('pulled');
    const c = client();
    const progress = new Map<string, number>();
    const res = await pull(c, parseNormalizedReference(`${reg!.host}/other/app:v2`), dest, {
      platform: 'linux/amd64',
      onProgress: (p) => progress.set(p.digest, p.done),
    });
    assert.equal(res.manifest.digest, img.manifest.digest);
    assert.equal(res.root.digest, img.manifest.digest);
    assert.equal(res.config.architecture, 'amd64');
    for (const d of [img.manifest, img.config, ...img.layers]) assert.deepEqual(dest.read(d.digest), src.read(d.digest), d.digest);
    for (const l of img.layers) assert.equal(progress.get(l.digest), l.size);
    // pulling again stores nothing new
    const before = dest.ingests;
    await pull(c, parseNormalizedReference(`${reg!.host}/other/app:v2`), dest, { platform: 'linux/amd64' });
    assert.equal(dest.ingests, before);
    c.close();
  });

  test('Docker schema2 media types push and pull', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const src = newDir('docker');
    const img = makeImage(src, { docker: true, layerSizes: [1234] });
    const c = client();
    const ref = parseNormalizedReference(`${reg!.host}/kiln/docker:s2`);
    await push(c, ref, img.manifest, src);
    const raw = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${reg!.host}/kiln/docker:s2`)) as { mediaType: string };
    assert.equal(raw.mediaType, MediaType.DockerManifest);
    const dest = newDir('docker-pulled');
    const res = await pull(c, ref, dest, { platform: 'linux/amd64' });
    assert.equal(res.manifest.mediaType, MediaType.DockerManifest);
    assert.equal(res.manifest.digest, img.manifest.digest);
    c.close();
  });

  test('multi-platform index: --platform picks the manifest; s390x → PLATFORM_NOT_FOUND', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const src = newDir('multi');
    const amd = makeImage(src, { platform: { os: 'linux', architecture: 'amd64' }, layerSizes: [100] });
    const arm = makeImage(src, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, layerSizes: [200] });
    const index = makeIndex(src, [
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    const c = client();
    const ref = parseNormalizedReference(`${reg!.host}/kiln/multi:1`);
    const res = await push(c, ref, index, src);
    assert.equal(res.digest, index.digest);
    const raw = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${reg!.host}/kiln/multi:1`)) as { manifests: unknown[] };
    assert.equal(raw.manifests.length, 2);
    // skopeo resolves the index for arm64 to the same config kiln pushed
    const armInfo = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--override-arch=arm64', '--config', `docker://${reg!.host}/kiln/multi:1`)) as { architecture: string };
    assert.equal(armInfo.architecture, 'arm64');

    const a = await pull(c, ref, newDir('p-amd'), { platform: 'linux/amd64' });
    assert.equal(a.manifest.digest, amd.manifest.digest);
    assert.equal(a.root.digest, index.digest);
    const dest = newDir('p-arm');
    const b = await pull(c, ref, dest, { platform: 'linux/arm64' });
    assert.equal(b.manifest.digest, arm.manifest.digest);
    assert.equal(b.config.architecture, 'arm64');
    assert.ok(await dest.has(index.digest), 'the index is stored too');
    assert.ok(!(await dest.has(amd.layers[0]!.digest)), 'the other platform is not pulled');
    await assert.rejects(pull(c, ref, newDir('p-s390x'), { platform: 'linux/s390x' }), isKiln('PLATFORM_NOT_FOUND', /linux\/s390x.*available: linux\/amd64, linux\/arm64\/v8/));
    c.close();
  });

  test('push of a corrupted local blob: the registry refuses it, DIGEST_MISMATCH, no manifest pushed', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const src = newDir('corrupt');
    const img = makeImage(src, { layerSizes: [5000] });
    const p = src.path(img.layers[0]!.digest);
    const bytes = readFileSync(p);
    bytes[10] = bytes[10]! ^ 0xff;
    writeFileSync(p, bytes);
    const c = client();
    await assert.rejects(push(c, parseNormalizedReference(`${reg!.host}/kiln/corrupt:1`), img.manifest, src), isKiln('DIGEST_MISMATCH', /rejected blob/));
    assert.equal(await c.headManifest('kiln/corrupt', '1'), undefined);
    c.close();
  });

  test('unknown tag → IMAGE_NOT_FOUND naming the reference', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const c = client();
    await assert.rejects(
      pull(c, parseNormalizedReference(`${reg!.host}/nope/missing:t1`), newDir('nf')),
      isKiln('IMAGE_NOT_FOUND', new RegExp(`${reg!.host.replace(/\./g, '\\.')}/nope/missing:t1`)),
    );
    c.close();
  });
});

describe('registry: with the real content store', () => {
  test('pull into the Store, tag it, push it elsewhere from the Store', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const reg = await startRegistry();
    const d = tmp('store');
    try {
      const src = new OciDir(join(d, 'src'));
      const img = makeImage(src, { layerSizes: [4000, 90_000] });
      const c = new RegistryClient(reg.host);
      const ref = parseNormalizedReference(`${reg.host}/store/app:1`);
      await push(c, ref, img.manifest, src);
      const store: BlobSink & BlobSource & Store = Store.open(join(d, 'root'));
      const res = await pull(c, ref, store, { platform: 'linux/amd64' });
      await store.tag({ name: formatReference(ref), descriptor: res.manifest });
      assert.equal(store.resolve(formatReference(ref)).digest, img.manifest.digest);
      const ref2 = parseNormalizedReference(`${reg.host}/store/copy:2`);
      const pushed = await push(c, ref2, store.resolve(formatReference(ref)), store, { mountFrom: ['store/app'] });
      assert.equal(pushed.digest, img.manifest.digest);
      assert.deepEqual(pushed.blobs.map((b) => b.outcome).sort(), ['mounted', 'mounted', 'mounted']);
      c.close();
    } finally {
      await reg.stop();
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('registry: digest of what the registry reports', () => {
  test('reference with digest pulls that exact manifest', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const reg = await startRegistry();
    const d = tmp('bydigest');
    try {
      const src = new OciDir(join(d, 'src'));
      const img = makeImage(src, { layerSizes: [10] });
      const c = new RegistryClient(reg.host);
      await push(c, parseNormalizedReference(`${reg.host}/x/y:t`), img.manifest, src);
      const res = await pull(c, parseNormalizedReference(`${reg.host}/x/y@${img.manifest.digest}`), new OciDir(join(d, 'dst')), { platform: 'linux/amd64' });
      assert.equal(res.manifest.digest, img.manifest.digest);
      assert.equal(JSON.parse(readFileSync(join(d, 'dst', 'blobs', 'sha256', img.config.digest.slice(7)), 'utf8')).os, 'linux');
      c.close();
    } finally {
      await reg.stop();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
