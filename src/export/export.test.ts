import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { KilnError } from '../errors.js';
import { MediaType, digestHex, sha256, validate, type Descriptor } from '../image/index.js';
import { encodeEntry, TAR_END } from '../layer/index.js';
import { Store, loadImage, verify } from '../store/index.js';
import { addRandomImage, gunzip, tar } from '../../test/helpers/random-image.js';
import { readArchive, writeDockerArchive, writeOciArchive, writeOciLayout, type NamedImage } from './index.js';

function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kiln-export-${prefix}-`));
}

async function source(): Promise<{ store: Store; images: NamedImage[]; descs: Descriptor[] }> {
  const store = Store.open(tmp('src'));
  const a = await addRandomImage(store, 'example.com/team/app:1.0', { seed: 31, layers: 3 });
  const b = await addRandomImage(store, 'other:2', { seed: 32, layers: 1, format: 'docker' });
  return {
    store,
    images: [{ name: 'example.com/team/app:1.0', desc: a.descriptor }, { name: 'other:2', desc: b.descriptor }, { name: 'alias:3', desc: a.descriptor }],
    descs: [a.descriptor, b.descriptor],
  };
}

async function configOf(store: Store, desc: Descriptor): Promise<Buffer> {
  return (await loadImage(store, desc, { decompress: gunzip })).rawConfig();
}

for (const format of ['oci-layout', 'oci-archive'] as const) {
  test(`${format}: round trip keeps manifests, names and blobs byte for byte`, async () => {
    const { store, images, descs } = await source();
    const out = join(tmp('out'), format === 'oci-layout' ? 'layout' : 'image.tar');
    if (format === 'oci-layout') await writeOciLayout(store, images, out);
    else await writeOciArchive(store, images, out);
    const dst = Store.open(tmp('dst'));
    const r = await readArchive(dst, out);
    assert.equal(r.format, format);
    assert.deepEqual(r.images.map((i) => [i.desc.digest, [...i.names]]), [
      [descs[0]!.digest, ['example.com/team/app:1.0', 'alias:3']],
      [descs[1]!.digest, ['other:2']],
    ]);
    for (const i of r.images) {
      const img = await loadImage(dst, i.desc, { decompress: gunzip });
      assert.deepEqual(await validate(img), []);
      assert.deepEqual(await img.rawConfig(), await configOf(store, i.desc));
    }
    assert.deepEqual(await verify(dst), []);
  });
}

test('docker-archive: round trip gives uncompressed layers with the same diff_ids and the same config (image ID)', async () => {
  const { store, images, descs } = await source();
  const file = join(tmp('out'), 'docker.tar');
  await writeDockerArchive(store, images, file);
  const dst = Store.open(tmp('dst'));
  const r = await readArchive(dst, file);
  assert.equal(r.format, 'docker-archive');
  assert.deepEqual(r.images.map((i) => [...i.names]), [['example.com/team/app:1.0', 'alias:3'], ['other:2']]);
  for (let k = 0; k < 2; k++) {
    const loaded = r.images[k]!;
    const img = await loadImage(dst, loaded.desc);
    assert.deepEqual(await validate(img), []);
    const orig = await loadImage(store, descs[k]!, { decompress: gunzip });
    assert.deepEqual(await img.rawConfig(), await orig.rawConfig());
    assert.equal(loaded.id, (await orig.manifest()).config.digest);
    const m = await img.manifest();
    assert.ok(m.layers.every((l) => l.mediaType === MediaType.OciLayer));
    assert.deepEqual(m.layers.map((l) => l.digest), (await orig.config()).rootfs.diff_ids);
  }
});

test('archives are deterministic: the same images give the same bytes', async () => {
  const { store, images } = await source();
  const dir = tmp('det');
  await writeOciArchive(store, images, join(dir, 'a.tar'));
  await writeOciArchive(store, images, join(dir, 'b.tar'));
  await writeDockerArchive(store, images, join(dir, 'c.tar'));
  await writeDockerArchive(store, images, join(dir, 'd.tar'));
  assert.deepEqual(readFileSync(join(dir, 'a.tar')), readFileSync(join(dir, 'b.tar')));
  assert.deepEqual(readFileSync(join(dir, 'c.tar')), readFileSync(join(dir, 'd.tar')));
  assert.deepEqual(readdirSync(dir).sort(), ['a.tar', 'b.tar', 'c.tar', 'd.tar'], 'no temp files left');
});

test('a gzip-compressed docker-archive loads (docker load accepts them too)', async () => {
  const { store, images } = await source();
  const dir = tmp('gz');
  await writeDockerArchive(store, images.slice(1, 2), join(dir, 'x.tar'));
  writeFileSync(join(dir, 'x.tar.gz'), gzipSync(readFileSync(join(dir, 'x.tar'))));
  const dst = Store.open(tmp('dst'));
  const r = await readArchive(dst, join(dir, 'x.tar.gz'));
  assert.deepEqual(r.images.map((i) => [...i.names]), [['other:2']]);
  assert.deepEqual(await validate(await loadImage(dst, r.images[0]!.desc)), []);
});

/** Finds `needle` in `hay` and flips the byte in the middle of it. */
function corrupt(hay: Buffer, needle: Buffer): Buffer {
  const at = hay.indexOf(needle);
  assert.ok(at >= 0);
  const out = Buffer.from(hay);
  const i = at + (needle.length >> 1);
  out[i] = out[i]! ^ 0xff;
  return out;
}

test('a corrupt blob fails with DIGEST_MISMATCH (oci archive, docker-archive, layout)', async () => {
  const { store, images, descs } = await source();
  const dir = tmp('bad');
  const layer = (await loadImage(store, descs[0]!)).manifest().then((m) => m.layers[1]!);
  const gz = await store.readBytes((await layer).digest);
  await writeOciArchive(store, images, join(dir, 'o.tar'));
  writeFileSync(join(dir, 'o.tar'), corrupt(readFileSync(join(dir, 'o.tar')), gz.subarray(20, 60)));
  await assert.rejects(readArchive(Store.open(tmp('dst')), join(dir, 'o.tar')), (e: unknown) => e instanceof KilnError && e.code === 'DIGEST_MISMATCH');

  await writeDockerArchive(store, images, join(dir, 'd.tar'));
  const raw = readFileSync(join(dir, 'd.tar'));
  // flip a byte inside the first (uncompressed) layer as it sits in the archive
  const dst = Store.open(tmp('dst'));
  const good = await readArchive(dst, join(dir, 'd.tar'));
  const m0 = await (await loadImage(dst, good.images[0]!.desc)).manifest();
  const tarLayer = await dst.readBytes(m0.layers[0]!.digest, 1 << 30);
  writeFileSync(join(dir, 'd.tar'), corrupt(raw, tarLayer.subarray(600, 700)));
  await assert.rejects(readArchive(Store.open(tmp('dst')), join(dir, 'd.tar')), (e: unknown) => e instanceof KilnError && e.code === 'DIGEST_MISMATCH');

  await writeOciLayout(store, images, join(dir, 'layout'));
  const path = join(dir, 'layout', 'blobs', 'sha256', digestHex((await layer).digest));
  writeFileSync(path, corrupt(readFileSync(path), gz.subarray(20, 60)));
  const dst2 = Store.open(tmp('dst'));
  await assert.rejects(readArchive(dst2, join(dir, 'layout')), (e: unknown) => e instanceof KilnError && e.code === 'DIGEST_MISMATCH');
  assert.deepEqual(await verify(dst2), [], 'nothing corrupt was stored');
});

test('not an archive: ARCHIVE_INVALID with a hint', async () => {
  const dir = tmp('junk');
  writeFileSync(join(dir, 'junk.tar'), tar([{ name: 'hello.txt', data: Buffer.from('hi') }]));
  await assert.rejects(readArchive(Store.open(tmp('dst')), join(dir, 'junk.tar')), (e: unknown) => e instanceof KilnError && e.code === 'ARCHIVE_INVALID' && /docker save/.test(e.details.hint ?? ''));
  writeFileSync(join(dir, 'noise'), Buffer.alloc(3000, 0x41));
  await assert.rejects(readArchive(Store.open(tmp('dst')), join(dir, 'noise')), (e: unknown) => e instanceof KilnError && e.code === 'ARCHIVE_INVALID');
});

test('legacy docker-archive (<id>/layer.tar, <hex>.json config, symlinked duplicate layer) loads', async () => {
  const layer1 = tar([{ name: 'a.txt', data: Buffer.from('one') }]);
  const layer2 = tar([{ name: 'b.txt', data: Buffer.from('two') }]);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [sha256(layer1), sha256(layer2), sha256(layer1)] },
  }));
  const cid = digestHex(sha256(config));
  const manifest = Buffer.from(JSON.stringify([{ Config: `${cid}.json`, RepoTags: ['legacy:1'], Layers: ['l1/layer.tar', 'l2/layer.tar', 'l3/layer.tar'] }]));
  const file = (name: string, data: Buffer) => encodeEntry({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0 }, data);
  const parts = [
    file('l1/layer.tar', layer1), file('l1/VERSION', Buffer.from('1.0')),
    file('l2/layer.tar', layer2),
    encodeEntry({ name: 'l3/layer.tar', type: 'symlink', linkname: '../l1/layer.tar', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0 }),
    file(`${cid}.json`, config), file('manifest.json', manifest), file('repositories', Buffer.from('{}')), TAR_END,
  ];
  const dir = tmp('legacy');
  writeFileSync(join(dir, 'legacy.tar'), Buffer.concat(parts));
  const dst = Store.open(tmp('dst'));
  const r = await readArchive(dst, join(dir, 'legacy.tar'));
  assert.deepEqual(r.images.map((i) => [...i.names]), [['legacy:1']]);
  assert.equal(r.images[0]!.id, sha256(config));
  const img = await loadImage(dst, r.images[0]!.desc);
  assert.deepEqual(await validate(img), []);
  assert.equal((await img.manifest()).layers.length, 3);
});
