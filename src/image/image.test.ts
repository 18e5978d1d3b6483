import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, gunzipSync, createGunzip } from 'node:zlib';
import { PassThrough } from 'node:stream';
import { KilnError } from '../errors.js';
import { sha256 } from './digest.js';
import { MediaType } from './media-types.js';
import { hashStream, layerFromBytes, layerFromOpener, withMediaType, type Decompressor, type Layer } from './layer.js';
import { emptyImage, imageFromRaw, type Image } from './image.js';
import { appendLayers, setConfig, setCreated, setHistory } from './mutate.js';
import { assertValid, validate } from './validate.js';
import { canonicalJson } from './canonical.js';

const gunzip: Decompressor = () => createGunzip();

function gzLayer(text: string, mediaType: string = MediaType.OciLayerGzip): { layer: Layer; gz: Buffer; raw: Buffer } {
  const raw = Buffer.from(text.repeat(100));
  const gz = gzipSync(raw);
  return { layer: layerFromBytes(mediaType, gz, gunzip), gz, raw };
}

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

test('layerFromOpener is lazy, re-openable and memoises digests', async () => {
  const { gz, raw } = gzLayer('hello');
  let opens = 0;
  const layer = layerFromOpener({
    mediaType: MediaType.OciLayerGzip,
    open: async () => {
      opens++;
      const s = new PassThrough();
      s.end(gz);
      return s;
    },
    decompress: gunzip,
  });
  assert.equal(opens, 0);
  assert.equal(await layer.digest(), sha256(gz));
  assert.equal(await layer.size(), gz.length);
  assert.equal(opens, 1);
  assert.equal(await layer.digest(), sha256(gz));
  assert.equal(opens, 1, 'digest and size are memoised together');
  assert.equal(await layer.diffId(), sha256(raw));
  assert.deepEqual(await readAll(await layer.uncompressed()), raw);
  assert.deepEqual(await readAll(await layer.compressed()), gz);
  assert.equal(opens, 4);
});

test('a layer with a known digest verifies every read', async () => {
  const { gz } = gzLayer('x');
  const layer = layerFromOpener({
    mediaType: MediaType.OciLayerGzip,
    open: async () => {
      const s = new PassThrough();
      s.end(Buffer.concat([gz, Buffer.from('junk')]));
      return s;
    },
    digest: sha256(gz),
    size: gz.length,
  });
  await assert.rejects(readAll(await layer.compressed()), (e: unknown) => e instanceof KilnError && e.code === 'DIGEST_MISMATCH');
});

test('an aborted signal stops a read', async () => {
  const { layer } = gzLayer('y');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(layer.compressed(ac.signal), { name: 'AbortError' });
});

test('emptyImage + appendLayers builds a valid image; inputs are not mutated', async () => {
  const base = emptyImage({ architecture: 'amd64', history: [{ created_by: 'ENV A=1', empty_layer: true }] });
  assert.deepEqual(await validate(base), []);
  const a = gzLayer('a');
  const b = gzLayer('b');
  const one = await appendLayers(base, { layer: a.layer, history: { created_by: 'COPY a' } });
  const two = await appendLayers(one, b.layer);
  assert.equal((await base.layers()).length, 0);
  assert.equal((await one.layers()).length, 1);
  assert.deepEqual(await validate(two), []);
  const cfg = await two.config();
  assert.deepEqual(cfg.rootfs.diff_ids, [sha256(a.raw), sha256(b.raw)]);
  assert.equal(cfg.history?.length, 3);
  const m = await two.manifest();
  assert.equal(m.layers[1]!.digest, sha256(b.gz));
  assert.equal(await two.digest(), sha256(await two.rawManifest()));
  assert.equal(m.config.digest, sha256(await two.rawConfig()));
  // same inputs → same bytes
  const again = await appendLayers(await appendLayers(base, { layer: a.layer, history: { created_by: 'COPY a' } }), b.layer);
  assert.equal(await again.digest(), await two.digest());
});

test('setConfig / setHistory / setCreated return new images', async () => {
  const a = gzLayer('a');
  const img = await appendLayers(emptyImage({ architecture: 'arm64', variant: 'v8' }), a.layer);
  const c = await setConfig(img, { Env: ['PATH=/bin'], Cmd: ['sh'] });
  assert.deepEqual((await c.config()).config, { Env: ['PATH=/bin'], Cmd: ['sh'] });
  assert.deepEqual((await img.config()).config, {});
  assert.notEqual(await c.digest(), await img.digest());
  const h = await setHistory(c, [{ created_by: 'x' }, { created_by: 'y', empty_layer: true }]);
  assert.deepEqual(await validate(h), []);
  const bad = await setHistory(c, [{ created_by: 'x' }, { created_by: 'y' }]);
  assert.deepEqual(await validate(bad), ['config: history has 2 non-empty-layer entries for 1 layers']);
  const t = await setCreated(h, '2000-01-01T00:00:00Z', { history: true });
  assert.equal((await t.config()).created, '2000-01-01T00:00:00Z');
  assert.equal((await t.config()).history?.[1]?.created, '2000-01-01T00:00:00Z');
});

async function rawOf(img: Image): Promise<{ m: Record<string, unknown>; c: Record<string, unknown> }> {
  return { m: JSON.parse((await img.rawManifest()).toString()), c: JSON.parse((await img.rawConfig()).toString()) };
}

test('validate finds what is inconsistent', async () => {
  const a = gzLayer('a');
  const good = await appendLayers(emptyImage({ architecture: 'amd64' }), a.layer);
  const { m, c } = await rawOf(good);

  // wrong diff_id, missing os, config digest mismatch
  const c2 = { ...c, os: undefined, rootfs: { type: 'layers', diff_ids: [sha256('nope')] } };
  const img2 = imageFromRaw(canonicalJson(m), canonicalJson(c2), [a.layer]);
  const p2 = await validate(img2);
  assert.ok(p2.some((p) => /config: digest .* does not match/.test(p)), p2.join('\n'));
  assert.ok(p2.some((p) => /missing "os"/.test(p)), p2.join('\n'));

  // layer bytes that are not what the manifest says; docker layer type in an OCI manifest
  const other = gzLayer('other');
  const img3 = imageFromRaw(canonicalJson(m), canonicalJson(c), [other.layer]);
  const p3 = await validate(img3);
  assert.ok(p3.some((p) => /layer\.digest\(\) is/.test(p)), p3.join('\n'));
  assert.ok(p3.some((p) => /blob content has digest/.test(p)), p3.join('\n'));
  assert.ok(p3.some((p) => /differs from config diff_id/.test(p)), p3.join('\n'));

  const d = gzLayer('d', MediaType.DockerLayer);
  const mixed = await appendLayers(good, d.layer);
  const p4 = await validate(mixed);
  assert.deepEqual(p4, [`layer 1 (${sha256(d.gz)}): ${MediaType.DockerLayer} in an OCI manifest`]);
  await assert.rejects(assertValid(mixed), (e: unknown) => e instanceof KilnError && e.code === 'IMAGE_INVALID' && /in an OCI manifest/.test(e.message));

  // layer count mismatch
  const img5 = imageFromRaw(canonicalJson(m), canonicalJson(c), []);
  assert.ok((await validate(img5)).some((p) => /image has 0 layers, the manifest lists 1/.test(p)));

  // the decompressed content is checked, too
  assert.deepEqual(gunzipSync(a.gz), a.raw);
  assert.equal((await hashStream(await a.layer.uncompressed())).digest, sha256(a.raw));
});

test('withMediaType relabels a layer so it fits a Docker-format image', async () => {
  const a = gzLayer('a');
  const docker = emptyImage({ format: 'docker', architecture: 'amd64' });
  const wrong = await appendLayers(docker, a.layer);
  assert.equal((await validate(wrong)).length, 1);
  const right = await appendLayers(docker, withMediaType(a.layer, MediaType.DockerLayer));
  assert.deepEqual(await validate(right), []);
  assert.equal((await right.manifest()).mediaType, MediaType.DockerManifest);
  assert.equal((await right.manifest()).config.mediaType, MediaType.DockerConfig);
  assert.throws(() => withMediaType(a.layer, MediaType.OciLayer), KilnError);
});

test('validate flags a config media type from the other family', async () => {
  const a = gzLayer('a');
  const good = await appendLayers(emptyImage({ architecture: 'amd64' }), a.layer);
  const { m, c } = await rawOf(good);
  const m2 = { ...m, config: { ...(m['config'] as object), mediaType: MediaType.DockerConfig } };
  const p = await validate(imageFromRaw(canonicalJson(m2), canonicalJson(c), [a.layer]));
  assert.deepEqual(p, [`config: media type ${MediaType.DockerConfig} in an OCI manifest (expected ${MediaType.OciConfig})`]);
});
