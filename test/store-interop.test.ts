// The store is an OCI image layout: skopeo and umoci read kiln's images straight from KILN_ROOT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needCommand } from './helpers/prereq.js';
import { addRandomImage } from './helpers/random-image.js';
import { Store } from '../src/store/index.js';

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('skopeo inspects and copies an image by name from the store', async (t) => {
  const skopeo = needCommand(t, 'skopeo');
  if (!skopeo) return;
  const root = mkdtempSync(join(tmpdir(), 'kiln-interop-'));
  const store = Store.open(root);
  const { image, descriptor } = await addRandomImage(store, 'example.com/team/app:1.0', { seed: 21 });
  const info = JSON.parse(run(skopeo, ['inspect', `oci:${root}:example.com/team/app:1.0`])) as { Digest: string; Layers: string[]; Labels: Record<string, string> };
  assert.equal(info.Digest, descriptor.digest);
  assert.deepEqual(info.Layers, (await image.manifest()).layers.map((l) => l.digest));
  assert.equal(info.Labels['seed'], '21');
  const raw = run(skopeo, ['inspect', '--raw', `oci:${root}:example.com/team/app:1.0`]);
  assert.equal(raw, (await image.rawManifest()).toString());
  // a full copy reads (and verifies) every blob
  const out = mkdtempSync(join(tmpdir(), 'kiln-interop-out-'));
  run(skopeo, ['copy', '--quiet', `oci:${root}:example.com/team/app:1.0`, `oci:${out}:copied`]);
  assert.equal(JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).manifests[0].digest, descriptor.digest);
});

test('umoci lists the names and unpacks an image from the store', async (t) => {
  const umoci = needCommand(t, 'umoci');
  if (!umoci) return;
  const root = mkdtempSync(join(tmpdir(), 'kiln-interop-'));
  const store = Store.open(root);
  await addRandomImage(store, 'one:1', { seed: 22 });
  await addRandomImage(store, 'two:2', { seed: 23, layers: 3 });
  assert.deepEqual(run(umoci, ['ls', '--layout', root]).trim().split('\n').sort(), ['one:1', 'two:2']);
  const work = mkdtempSync(join(tmpdir(), 'kiln-unpack-'));
  run(umoci, ['raw', 'unpack', '--image', `${root}:two:2`, 'rootfs'], work);
  const files = readdirSync(join(work, 'rootfs'));
  assert.ok(files.length >= 3 && files.every((f) => /^f\d-\d+\.bin$/.test(f)), files.join(','));
});
