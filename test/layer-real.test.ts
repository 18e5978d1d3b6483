// Real image layers (kiln's base images from scripts/make-base-images.sh: a Debian bookworm-slim
// rootfs and busybox): applyLayer must produce exactly what GNU tar extracts, and writeTree of
// the result must list the same entries as the original layer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { applyLayer, readTar, writeTree } from '../src/layer/index.js';
import { needCommand, needRoot, prereq } from './helpers/prereq.js';
import { describeTree } from './helpers/layer-tree.js';

const BASE = process.env['KILN_BASE_DIR'] ?? '/var/cache/kiln/base-images';
const LAYERS = [`${BASE}/debian/bookworm-slim/00-rootfs.tar`, `${BASE}/busybox/latest/00-rootfs.tar`];

async function names(src: AsyncIterable<unknown>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readTar(src)) out.push(`${e.header.type} ${e.header.name.replace(/^\.\//, '').replace(/\/$/, '')}`);
  return out.sort();
}

for (const layer of LAYERS) {
  test(`real layer ${layer.slice(BASE.length + 1)}: applyLayer == GNU tar -x, and writeTree lists the same entries`, async (t) => {
    if (!needRoot(t) || !needCommand(t, 'tar')) return;
    if (!prereq(t, existsSync(layer), `${layer} (run as root: bash scripts/make-base-images.sh)`)) return;
    // tmpfs when present: the same semantics (xattrs included) without this VM's slow ext4 creates
    const dir = mkdtempSync(`${existsSync('/dev/shm') ? '/dev/shm' : tmpdir()}/kiln-layer-real-`);
    try {
      mkdirSync(`${dir}/kiln`);
      mkdirSync(`${dir}/gnu`);
      const r = await applyLayer(createReadStream(layer), `${dir}/kiln`);
      assert.ok(r.entries > 100);
      execFileSync('tar', ['-xpf', layer, '--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', `${dir}/gnu`]);
      const kiln = describeTree(`${dir}/kiln`).slice(1);
      const gnu = describeTree(`${dir}/gnu`).slice(1);
      assert.equal(kiln.length, gnu.length);
      assert.deepEqual(kiln, gnu);
      assert.deepEqual(await names(writeTree(`${dir}/kiln`)), await names(createReadStream(layer)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
