import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { buildConfig, buildIndex, buildManifest, canonicalJson } from './canonical.js';
import { sha256 } from './digest.js';
import { MediaType } from './media-types.js';
import { parseConfig, parseManifest } from './parse.js';

const D = sha256('x');
const desc = { size: 3, digest: D, mediaType: MediaType.OciLayerGzip };

test('canonicalJson: no whitespace, construction order kept, undefined dropped', () => {
  assert.equal(canonicalJson({ b: 1, a: [1, 'x'], c: undefined }).toString(), '{"b":1,"a":[1,"x"]}');
  assert.throws(() => canonicalJson({ a: NaN }), KilnError);
});

test('buildManifest emits spec key order regardless of input order', () => {
  const m = buildManifest({ format: 'oci', config: { size: 2, digest: D, mediaType: MediaType.OciConfig }, layers: [desc], annotations: { k: 'v' } });
  assert.equal(
    canonicalJson(m).toString(),
    `{"schemaVersion":2,"mediaType":"${MediaType.OciManifest}","config":{"mediaType":"${MediaType.OciConfig}","digest":"${D}","size":2},` +
      `"layers":[{"mediaType":"${MediaType.OciLayerGzip}","digest":"${D}","size":3}],"annotations":{"k":"v"}}`,
  );
  const d = buildManifest({ format: 'docker', config: { mediaType: MediaType.DockerConfig, digest: D, size: 2 }, layers: [] });
  assert.equal(d.mediaType, MediaType.DockerManifest);
});

test('buildConfig orders keys like the OCI Image struct and keeps unknown keys after', () => {
  const c = buildConfig({
    rootfs: { type: 'layers', diff_ids: [D] },
    config: { Cmd: ['sh'], Env: ['A=1'], User: 'u' },
    os: 'linux',
    architecture: 'amd64',
    created: '2020-01-01T00:00:00Z',
    history: [{ empty_layer: true, created_by: 'x' }],
  } as never);
  assert.deepEqual(Object.keys(c), ['created', 'architecture', 'os', 'config', 'rootfs', 'history']);
  assert.deepEqual(Object.keys(c.config!), ['User', 'Env', 'Cmd']);
  assert.deepEqual(Object.keys(c.history![0]!), ['created_by', 'empty_layer']);
});

test('parseManifest detects OCI/Docker manifests and indexes', () => {
  const oci = canonicalJson(buildManifest({ format: 'oci', config: { mediaType: MediaType.OciConfig, digest: D, size: 1 }, layers: [desc] }));
  const p = parseManifest(oci);
  assert.equal(p.kind, 'manifest');
  assert.equal(p.mediaType, MediaType.OciManifest);
  const list = canonicalJson(buildIndex({ format: 'docker', manifests: [{ mediaType: MediaType.DockerManifest, digest: D, size: 5, platform: { os: 'linux', architecture: 'amd64' } }] }));
  const l = parseManifest(list);
  assert.equal(l.kind, 'index');
  assert.equal(l.mediaType, MediaType.DockerManifestList);
  // no mediaType field: content type, then shape
  const bare = JSON.stringify({ schemaVersion: 2, manifests: [] });
  assert.equal(parseManifest(bare, `${MediaType.DockerManifestList}; charset=utf-8`).mediaType, MediaType.DockerManifestList);
  assert.equal(parseManifest(bare).mediaType, MediaType.OciIndex);
  assert.equal(parseManifest(JSON.stringify({ schemaVersion: 2, config: desc, layers: [] })).mediaType, MediaType.OciManifest);
});

test('parseManifest rejects schema 1 clearly, and garbage with IMAGE_INVALID', () => {
  const s1 = JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] });
  assert.throws(() => parseManifest(s1), (e: unknown) => e instanceof KilnError && e.code === 'IMAGE_INVALID' && /schema 1/.test(e.message) && !!e.details.hint);
  for (const bad of ['nope', '[]', '{"schemaVersion":3}', JSON.stringify({ schemaVersion: 2, config: { ...desc, digest: 'sha256:zz' }, layers: [] }),
    JSON.stringify({ schemaVersion: 2, config: { ...desc, size: -1 }, layers: [] }),
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/x-foo', config: desc, layers: [] }),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...desc, platform: { os: 'linux' } }] })]) {
    assert.throws(() => parseManifest(bad), (e: unknown) => e instanceof KilnError && e.code === 'IMAGE_INVALID', bad);
  }
});

test('parseConfig requires os, architecture and rootfs with digests', () => {
  const ok = parseConfig(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [D] }, history: null }));
  assert.deepEqual(ok.rootfs.diff_ids, [D]);
  assert.deepEqual(ok.history, []);
  assert.throws(() => parseConfig(JSON.stringify({ os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })), /missing "architecture"/);
  assert.throws(() => parseConfig(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: ['x'] } })), /diff_ids/);
  assert.throws(() => parseConfig(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: 'A=1' } })), /Env/);
});
