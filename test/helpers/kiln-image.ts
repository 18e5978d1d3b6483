// Writes a root filesystem directory into a kiln store as a one-layer image (with kiln's own layer
// writer), so build tests have base images without a registry.
import { Readable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from './busybox-rootfs.js';
import { Store } from '../../src/store/index.js';
import { MediaType, buildConfig, buildManifest, canonicalJson, hostPlatform, sha256, type ContainerConfig, type Descriptor } from '../../src/image/index.js';
import { layerFromTar, writeTree } from '../../src/layer/index.js';

export async function addRootfsImage(store: Store, name: string, rootfs: string, config: ContainerConfig = {}): Promise<Descriptor> {
  const blob = await layerFromTar(writeTree(rootfs, { sourceDateEpoch: 1700000000 }), { compression: 'gzip' }, (s: Readable) => store.ingest(s));
  const host = hostPlatform();
  const cfg = buildConfig({
    created: '2023-11-14T22:13:20Z',
    architecture: host.architecture,
    os: host.os,
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...config },
    rootfs: { type: 'layers', diff_ids: [blob.diffId] },
    history: [{ created: '2023-11-14T22:13:20Z', created_by: `test rootfs ${name}` }],
  });
  const cfgBytes = canonicalJson(cfg);
  const cfgDigest = sha256(cfgBytes);
  await store.ingestBytes(cfgBytes, { digest: cfgDigest, size: cfgBytes.length });
  const manifest = buildManifest({
    format: 'oci',
    config: { mediaType: MediaType.OciConfig, digest: cfgDigest, size: cfgBytes.length },
    layers: [{ mediaType: blob.mediaType, digest: blob.digest, size: blob.size }],
  });
  const mBytes = canonicalJson(manifest);
  const mDigest = sha256(mBytes);
  await store.ingestBytes(mBytes, { digest: mDigest, size: mBytes.length });
  const desc: Descriptor = { mediaType: MediaType.OciManifest, digest: mDigest, size: mBytes.length };
  await store.tag({ name, descriptor: desc });
  return desc;
}

/** A temp work dir with a kiln store (`root`) holding `busybox:latest`, for end-to-end build tests. */
export async function busyboxStore(prefix: string): Promise<{ work: string; root: string }> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const root = join(work, 'root');
  await addRootfsImage(Store.open(root), 'docker.io/library/busybox:latest', makeBusyboxRootfs(join(work, 'busybox')), { Cmd: ['sh'] });
  return { work, root };
}
