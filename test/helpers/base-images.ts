// Base images for tests without a registry: assembles an OCI image layout directory from
// uncompressed layer tarballs (e.g. the ones scripts/make-base-images.sh writes to
// $KILN_BASE_DIR/<name>/<tag>/, described by image.json), so tests can hand images to skopeo,
// a local registry or `docker load`. Layers are gzipped (no name/mtime in the header) and
// hashed while streaming.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, createReadStream, createWriteStream, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { TestContext } from 'node:test';
import { prereq } from './prereq.js';

export const KILN_BASE_DIR = process.env['KILN_BASE_DIR'] ?? '/var/cache/kiln/base-images';

export interface FixtureImage {
  /** Reference name in index.json (org.opencontainers.image.ref.name), e.g. "busybox:latest". */
  readonly ref: string;
  /** Uncompressed layer tarballs, bottom first. */
  readonly layers: readonly string[];
  /** The image config's `config` (Env, Cmd, WorkingDir, ...). */
  readonly config: Record<string, unknown>;
  readonly created?: string;
  readonly history?: readonly Record<string, unknown>[];
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

function hashingCounter(onDone: (hex: string, size: number) => void): Transform {
  const h = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      onDone(h.digest('hex'), size);
      cb();
    },
  });
}

function writeJsonBlob(blobs: string, value: unknown, mediaType: string): Descriptor {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(blobs, hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/** Writes (or adds to) an OCI image layout at `dir` holding `images`. */
export async function writeOciLayout(dir: string, images: readonly FixtureImage[]): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const indexPath = join(dir, 'index.json');
  const index = existsSync(indexPath)
    ? (JSON.parse(readFileSync(indexPath, 'utf8')) as { manifests: Record<string, unknown>[] })
    : { manifests: [] as Record<string, unknown>[] };
  for (const img of images) {
    const layerDescs: Descriptor[] = [];
    const diffIds: string[] = [];
    for (const tarPath of img.layers) {
      let diffHex = '';
      let gzHex = '';
      let gzSize = 0;
      const tmp = join(blobs, `.tmp-${process.pid}`);
      await pipeline(
        createReadStream(tarPath),
        hashingCounter((hex) => (diffHex = hex)),
        createGzip(), // zlib writes no file name and a zero mtime: deterministic
        hashingCounter((hex, size) => ((gzHex = hex), (gzSize = size))),
        createWriteStream(tmp),
      );
      renameSync(tmp, join(blobs, gzHex));
      diffIds.push(`sha256:${diffHex}`);
      layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${gzHex}`, size: gzSize });
    }
    const created = img.created ?? '2023-11-14T22:13:20Z';
    const config = writeJsonBlob(
      blobs,
      {
        created,
        architecture: 'amd64',
        os: 'linux',
        config: img.config,
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: img.history ?? img.layers.map(() => ({ created, created_by: 'test fixture layer' })),
      },
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = writeJsonBlob(
      blobs,
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: layerDescs },
      'application/vnd.oci.image.manifest.v1+json',
    );
    index.manifests = index.manifests.filter(
      (m) => (m['annotations'] as Record<string, string> | undefined)?.['org.opencontainers.image.ref.name'] !== img.ref,
    );
    index.manifests.push({
      ...manifest,
      platform: { architecture: 'amd64', os: 'linux' },
      annotations: { 'org.opencontainers.image.ref.name': img.ref },
    });
  }
  writeFileSync(indexPath, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', ...index }));
}

/**
 * The FixtureImage for a base image made by scripts/make-base-images.sh
 * ($KILN_BASE_DIR/<name>/<tag>/image.json), or undefined when it has not been built.
 */
export function baseImage(name: string, tag: string, baseDir = KILN_BASE_DIR): FixtureImage | undefined {
  const dir = join(baseDir, name, tag);
  const file = join(dir, 'image.json');
  if (!existsSync(file)) return undefined;
  const j = JSON.parse(readFileSync(file, 'utf8')) as {
    layers: string[];
    config: Record<string, unknown>;
    created?: string;
    history?: Record<string, unknown>[];
  };
  return {
    ref: `${name}:${tag}`,
    layers: j.layers.map((l) => join(dir, l)),
    config: j.config,
    ...(j.created !== undefined ? { created: j.created } : {}),
    ...(j.history !== undefined ? { history: j.history } : {}),
  };
}

/** The smallest part of a started engine that dockerLoad() needs (test/helpers/dockerd.ts). */
export interface DockerLoader {
  docker(args: readonly string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * Loads images into a docker engine straight from their uncompressed layer tarballs: writes a
 * `docker save`-format archive (manifest.json, config, layer tars; hard links, no gzip, no
 * skopeo) to `workDir` and runs `docker load` on it. `tag` names the image in docker
 * (default: the image's ref). Returns the loaded image IDs, in order.
 */
export async function dockerLoad(d: DockerLoader, images: readonly FixtureImage[], workDir: string, tag?: (img: FixtureImage) => string): Promise<string[]> {
  const ids: string[] = [];
  for (const img of images) {
    const stage = mkdtempSync(join(workDir, 'docker-archive-'));
    const diffIds: string[] = [];
    const layerNames: string[] = [];
    for (const [i, tarPath] of img.layers.entries()) {
      const hex = await new Promise<string>((resolve, reject) => {
        const h = createHash('sha256');
        createReadStream(tarPath)
          .on('data', (c) => h.update(c))
          .on('error', reject)
          .on('end', () => resolve(h.digest('hex')));
      });
      diffIds.push(`sha256:${hex}`);
      const name = `${i}-${hex}.tar`;
      try {
        linkSync(tarPath, join(stage, name));
      } catch {
        copyFileSync(tarPath, join(stage, name));
      }
      layerNames.push(name);
    }
    const created = img.created ?? '2023-11-14T22:13:20Z';
    const config = Buffer.from(
      JSON.stringify({
        created,
        architecture: 'amd64',
        os: 'linux',
        config: img.config,
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: img.history ?? img.layers.map(() => ({ created, created_by: 'test fixture layer' })),
      }),
    );
    const configHex = createHash('sha256').update(config).digest('hex');
    writeFileSync(join(stage, `${configHex}.json`), config);
    const repoTag = tag?.(img) ?? img.ref;
    writeFileSync(join(stage, 'manifest.json'), JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [repoTag], Layers: layerNames }]));
    const archive = `${stage}.tar`;
    const tar = spawnSync('tar', ['-cf', archive, '-C', stage, '.'], { encoding: 'utf8' });
    rmSync(stage, { recursive: true, force: true });
    if (tar.status !== 0) throw new Error(`tar of the docker archive failed: ${tar.stderr}`);
    try {
      const r = await d.docker(['load', '-q', '-i', archive]);
      if (r.code !== 0) throw new Error(`docker load of ${repoTag} failed: ${r.stderr}`);
    } finally {
      rmSync(archive, { force: true });
    }
    ids.push(`sha256:${configHex}`);
  }
  return ids;
}

/**
 * The base image `name:tag` made by scripts/make-base-images.sh, or undefined after skipping
 * the test (locally) / failing it (CI=true) when it has not been built.
 */
export function needBaseImage(t: TestContext, name: string, tag: string): FixtureImage | undefined {
  const img = baseImage(name, tag);
  return prereq(t, img !== undefined, `base image ${name}:${tag} in ${KILN_BASE_DIR} (run as root: bash scripts/make-base-images.sh)`)
    ? img
    : undefined;
}
