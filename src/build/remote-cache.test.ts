// The cache artifact's config checks and the OCI layout transport (type=local), with a real store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../errors.js';
import { MediaType, canonicalJson, sha256, type Descriptor, type Digest } from '../image/index.js';
import { Store } from '../store/index.js';
import { CACHE_CONFIG_MEDIA_TYPE, parseCacheConfig, type CacheArtifact, type RemoteCacheConfig } from './remote-cache.js';
import { loadCache, saveCache } from './remote-cache-io.js';

const K = (c: string): string => c.repeat(64);

function artifact(config: RemoteCacheConfig, layers: Descriptor[]): CacheArtifact {
  const configBytes = canonicalJson(config);
  const configDescriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256(configBytes), size: configBytes.length };
  const manifest = canonicalJson({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: configDescriptor, layers });
  return { manifest, manifestDigest: sha256(manifest), config: configBytes, configDescriptor, layers, records: config.records.length };
}

const noClient = (): never => {
  throw new Error('no registry in this test');
};

function rejects(bytes: string, re: RegExp): void {
  assert.throws(() => parseCacheConfig(Buffer.from(bytes), 'test cache'), (e: unknown) => e instanceof KilnError && e.code === 'IMAGE_INVALID' && re.test(e.message));
}

test('parseCacheConfig: accepts kiln configs, rejects anything else with the cache named', () => {
  const ok: RemoteCacheConfig = { schemaVersion: 1, mediaType: CACHE_CONFIG_MEDIA_TYPE, mode: 'min', sourceDateEpoch: null, records: [{ key: K('a'), parentKey: K('b'), stage: 's', step: 0, display: 'RUN x', created: '2024-01-01T00:00:00Z' }] };
  assert.deepEqual(parseCacheConfig(canonicalJson(ok), 'x'), ok);
  rejects('{', /test cache: the cache config is not valid JSON/);
  rejects(JSON.stringify({ ...ok, schemaVersion: 2 }), /not a kiln cache config/);
  rejects(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }), /not a kiln cache config/);
  rejects(JSON.stringify({ ...ok, records: [{ ...ok.records[0], key: '../../etc' }] }), /a record is malformed/);
  rejects(JSON.stringify({ ...ok, records: [{ ...ok.records[0], layer: { digest: 'md5:x', diffId: 'sha256:y', size: 1, mediaType: 'm' } }] }), /a record is malformed/);
});

test('type=local: save, load, fetch a layer; a second tag is added, the same tag replaced; an image is not a cache', async () => {
  const work = mkdtempSync(join(tmpdir(), 'kiln-rc-unit-'));
  try {
    const store = Store.open(join(work, 'store'));
    const data = Buffer.from('pretend this is a gzip layer');
    const { digest, size } = await store.ingestBytes(data);
    const layer = { mediaType: MediaType.OciLayerGzip, digest, size };
    const config: RemoteCacheConfig = {
      schemaVersion: 1, mediaType: CACHE_CONFIG_MEDIA_TYPE, mode: 'max', sourceDateEpoch: 0,
      records: [{ key: K('1'), parentKey: K('2'), base: 'scratch', stage: 'build', step: 0, display: 'COPY . /', layer: { ...layer, diffId: `sha256:${K('3')}` as Digest }, created: '2024-01-01T00:00:00Z' }],
    };
    const dir = join(work, 'cache');
    const art = artifact(config, [layer]);
    const deps = { store, client: noClient };
    const first = await saveCache({ type: 'local', dir, tag: 'latest' }, art, deps, AbortSignal.timeout(10_000));
    assert.deepEqual(first, { written: 3, existing: 0 });

    const loaded = await loadCache({ type: 'local', dir, tag: 'latest' }, deps, AbortSignal.timeout(10_000));
    assert.equal(loaded.name, `local cache ${dir}`);
    assert.deepEqual(loaded.config, config);
    const chunks: Buffer[] = [];
    for await (const c of (await loaded.fetch(layer, AbortSignal.timeout(10_000))) as AsyncIterable<Buffer>) chunks.push(c);
    assert.deepEqual(Buffer.concat(chunks), data);

    // the same export under another tag: blobs already there, a second index entry
    assert.deepEqual(await saveCache({ type: 'local', dir, tag: 'other' }, art, deps, AbortSignal.timeout(10_000)), { written: 0, existing: 3 });
    const art2 = artifact({ ...config, mode: 'min' }, [layer]);
    await saveCache({ type: 'local', dir, tag: 'latest' }, art2, deps, AbortSignal.timeout(10_000));
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    assert.deepEqual(index.manifests.map((m) => [m.annotations?.['org.opencontainers.image.ref.name'], m.digest]), [['other', art.manifestDigest], ['latest', art2.manifestDigest]]);
    assert.equal((await loadCache({ type: 'local', dir, tag: 'latest' }, deps, AbortSignal.timeout(10_000))).config.mode, 'min');

    await assert.rejects(loadCache({ type: 'local', dir, tag: 'nope' }, deps, AbortSignal.timeout(10_000)), (e: unknown) => e instanceof KilnError && e.code === 'IMAGE_NOT_FOUND' && /no manifest named nope/.test(e.message));

    // an image manifest (OCI image config) under a tag: a clear "not a kiln build cache"
    const imgConfig = canonicalJson({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
    const imgManifest = canonicalJson({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: sha256(imgConfig), size: imgConfig.length }, layers: [] });
    writeFileSync(join(dir, 'blobs', 'sha256', sha256(imgConfig).slice(7)), imgConfig);
    writeFileSync(join(dir, 'blobs', 'sha256', sha256(imgManifest).slice(7)), imgManifest);
    index.manifests.push({ mediaType: MediaType.OciManifest, digest: sha256(imgManifest), size: imgManifest.length, annotations: { 'org.opencontainers.image.ref.name': 'image' } });
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    await assert.rejects(loadCache({ type: 'local', dir, tag: 'image' }, deps, AbortSignal.timeout(10_000)), (e: unknown) => e instanceof KilnError && e.code === 'IMAGE_INVALID' && /not a kiln build cache/.test(e.message));

    // a tampered config blob is caught by its digest
    writeFileSync(join(dir, 'blobs', 'sha256', art2.configDescriptor.digest.slice(7)), Buffer.from(art2.config.toString('utf8').replace('"min"', '"max"')));
    await assert.rejects(loadCache({ type: 'local', dir, tag: 'latest' }, deps, AbortSignal.timeout(10_000)), (e: unknown) => e instanceof KilnError && e.code === 'DIGEST_MISMATCH');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
