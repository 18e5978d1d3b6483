// Shared machinery of the Dockerfile conformance tests (test/conformance/): the case
// directories, their build contexts, the base images both builders get (the same bytes), and
// flattening an image's layers into a directory for tree-compare.ts.
import { spawnSync } from 'node:child_process';
import {
  chmodSync, chownSync, createReadStream, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { Store, resolveManifest } from '../../src/store/index.js';
import { parseManifest, type Digest } from '../../src/image/index.js';
import { applyLayer, decompressLayer, readTar } from '../../src/layer/index.js';
import { PROJECT_ROOT } from './cli.js';
import { makeBusyboxRootfs } from './busybox-rootfs.js';
import { addRootfsImage } from './kiln-image.js';

/** Files of a case directory that are not part of its build context. */
export const CASE_META_FILES = new Set(['args', 'setup.sh', 'expected.json', 'expect-error']);
/** The directory of a case that test/helpers/case-http.ts serves (not part of its build context either). */
export const CASE_HTTP_DIR = 'http';

export interface ConformanceCase {
  readonly name: string;
  /** The case directory (Dockerfile + context files + meta files). */
  readonly dir: string;
  /** Extra `build` arguments from the case's `args` file (one argument per line, # comments). */
  readonly args: string[];
  /**
   * From an `expect-error` file: the build must fail, BuildKit's output must match this regular
   * expression (a check of the case itself), and kiln must fail cleanly at the same line.
   */
  readonly expectError?: RegExp;
}

/** The cases under test/conformance/<group>/, sorted by name. */
export function listCases(group: string): ConformanceCase[] {
  const base = join(PROJECT_ROOT, 'test', 'conformance', group);
  return readdirSync(base, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const dir = join(base, name);
      const argsFile = join(dir, 'args');
      const args = existsSync(argsFile)
        ? readFileSync(argsFile, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'))
        : [];
      const errFile = join(dir, 'expect-error');
      const expectError = existsSync(errFile) ? new RegExp(readFileSync(errFile, 'utf8').trim()) : undefined;
      return { name, dir, args, ...(expectError ? { expectError } : {}) };
    });
}

/**
 * A build context for the case in `dest`: a copy of its directory (symlinks kept) without the
 * meta files, after running its setup.sh (if any) there. Its http/ directory (as setup.sh left
 * it) is moved to `httpDest` when given, else removed.
 */
export function prepareContext(c: ConformanceCase, dest: string, httpDest?: string): string {
  mkdirSync(dest, { recursive: true });
  const cp = spawnSync('cp', ['-a', `${c.dir}/.`, dest], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`copying ${c.dir}: ${cp.stderr}`);
  if (existsSync(join(dest, 'setup.sh'))) {
    const r = spawnSync('sh', ['-e', 'setup.sh'], { cwd: dest, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${c.name}/setup.sh failed: ${r.stderr}${r.stdout}`);
  }
  for (const f of CASE_META_FILES) rmSync(join(dest, f), { force: true });
  const http = join(dest, CASE_HTTP_DIR);
  if (httpDest !== undefined && existsSync(http)) {
    mkdirSync(dirname(httpDest), { recursive: true });
    renameSync(http, httpDest);
  }
  rmSync(http, { recursive: true, force: true });
  return dest;
}

/** The second base image: files with owners, modes, links, for `COPY --from=<image>`. */
export const FIXTURE_IMAGE = 'docker.io/kiln-test/fixture:1';
export const BUSYBOX_IMAGE = 'docker.io/library/busybox:latest';
/**
 * The third base image: busybox's rootfs with every config field set (a user, a workdir, an
 * entrypoint, ONBUILD triggers, ...), for what FROM <image> inherits.
 */
export const CONFIGURED_IMAGE = 'docker.io/kiln-test/configured:1';
export const ALL_BASE_IMAGES = [BUSYBOX_IMAGE, FIXTURE_IMAGE, CONFIGURED_IMAGE] as const;

function makeFixtureRootfs(dir: string): string {
  mkdirSync(join(dir, 'files', 'sub'), { recursive: true });
  mkdirSync(join(dir, 'opt'), { recursive: true });
  writeFileSync(join(dir, 'files', 'a.txt'), 'fixture a\n');
  chmodSync(join(dir, 'files', 'a.txt'), 0o640);
  chownSync(join(dir, 'files', 'a.txt'), 1000, 50);
  writeFileSync(join(dir, 'files', 'sub', 'suid'), 'setuid\n');
  chmodSync(join(dir, 'files', 'sub', 'suid'), 0o4755);
  chmodSync(join(dir, 'files', 'sub'), 0o750);
  chownSync(join(dir, 'files', 'sub'), 3000, 3001);
  symlinkSync('a.txt', join(dir, 'files', 'link'));
  writeFileSync(join(dir, 'files', 'hl1'), 'hardlinked\n');
  linkSync(join(dir, 'files', 'hl1'), join(dir, 'files', 'hl2'));
  writeFileSync(join(dir, 'opt', 'tool'), '#!/bin/sh\necho tool\n');
  chmodSync(join(dir, 'opt', 'tool'), 0o700);
  chownSync(join(dir, 'opt', 'tool'), 2000, 2000);
  return dir;
}

/** Puts busybox and the fixture image into the kiln store at `root`; `work` holds their rootfs. */
export async function seedKilnStore(root: string, work: string): Promise<Store> {
  const store = Store.open(root);
  await addRootfsImage(store, BUSYBOX_IMAGE, makeBusyboxRootfs(join(work, 'rootfs-busybox')), { Cmd: ['sh'] });
  await addRootfsImage(store, FIXTURE_IMAGE, makeFixtureRootfs(join(work, 'rootfs-fixture')));
  await addRootfsImage(store, CONFIGURED_IMAGE, join(work, 'rootfs-busybox'), {
    Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'FROM_IMAGE=yes', 'SHARED=image'],
    Cmd: ['--help'],
    Entrypoint: ['/bin/echo', 'image-entrypoint'],
    User: 'app',
    WorkingDir: '/home/app',
    ExposedPorts: { '7777/tcp': {} },
    Volumes: { '/image-volume': {} },
    Labels: { 'image.label': 'from-image', 'shared.label': 'image' },
    StopSignal: 'SIGUSR1',
    Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 10_000_000_000, Retries: 2 },
    Shell: ['/bin/sh', '-e', '-c'],
    OnBuild: ['RUN echo "onbuild as $(id -un) in $(pwd)" > /tmp/onbuild-from-image.txt', 'ENV FROM_ONBUILD=image-trigger', 'LABEL onbuild.label=1'],
  });
  return store;
}

interface StoredImage {
  readonly rawConfig: Buffer;
  readonly layers: { digest: Digest; mediaType: string }[];
}

async function storedImage(store: Store, name: string): Promise<StoredImage> {
  const desc = await resolveManifest(store, name);
  const parsed = parseManifest(await store.readBytes(desc.digest), desc.mediaType);
  if (parsed.kind !== 'manifest') throw new Error(`${name}: not an image manifest`);
  return {
    rawConfig: await store.readBytes(parsed.manifest.config.digest),
    layers: parsed.manifest.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType })),
  };
}

async function uncompressedLayer(store: Store, l: { digest: Digest; mediaType: string }): Promise<Readable> {
  return decompressLayer(Readable.from((await store.open(l.digest)) as AsyncIterable<Buffer>), l.mediaType);
}

/** Top-level fields of the config blob compared too, kept in configFields() under these keys. */
const TOP_FIELDS = ['author', 'os', 'architecture', 'variant'] as const;

/** `config` of a config blob, plus its TOP_FIELDS as ".author", ".os", ... */
function configFields(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...((raw['config'] as Record<string, unknown> | undefined) ?? {}) };
  for (const f of TOP_FIELDS) out[`.${f}`] = raw[f];
  return out;
}

/** The image config (`config` of the config blob, raw JSON; see configFields) of a kiln store image. */
export async function kilnImageConfig(store: Store, name: string): Promise<Record<string, unknown>> {
  const img = await storedImage(store, name);
  return configFields(JSON.parse(img.rawConfig.toString('utf8')) as Record<string, unknown>);
}

/** The history of a kiln store image's config. */
export async function kilnImageHistory(store: Store, name: string): Promise<unknown[]> {
  const img = await storedImage(store, name);
  return (JSON.parse(img.rawConfig.toString('utf8')) as { history?: unknown[] }).history ?? [];
}

/** One line per tar entry of an uncompressed layer: "path type mode uid:gid [-> link]" (no mtimes). */
export async function listLayer(tar: AsyncIterable<unknown>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readTar(tar)) {
    const h = e.header;
    out.push(`${h.name} ${h.type} ${h.mode.toString(8).padStart(4, '0')} ${h.uid}:${h.gid}${h.linkname ? ` -> ${h.linkname}` : ''}`);
  }
  return out;
}

/** listLayer() of each layer of a kiln store image, bottom first. */
export async function listKilnLayers(store: Store, name: string): Promise<string[][]> {
  const out: string[][] = [];
  for (const l of (await storedImage(store, name)).layers) out.push(await listLayer(await uncompressedLayer(store, l)));
  return out;
}

/** listLayer() of uncompressed layer files. */
export async function listLayerFiles(layers: readonly string[]): Promise<string[][]> {
  const out: string[][] = [];
  for (const l of layers) out.push(await listLayer(createReadStream(l, { highWaterMark: 1 << 20 })));
  return out;
}

/** Applies a kiln store image's layers, bottom first, onto the empty directory `dest`. */
export async function flattenKilnImage(store: Store, name: string, dest: string): Promise<void> {
  mkdirSync(dest, { recursive: true });
  for (const l of (await storedImage(store, name)).layers) await applyLayer(await uncompressedLayer(store, l), dest);
}

/**
 * Writes a `docker load` archive (docker save format: manifest.json, the config blob exactly as
 * stored by kiln, uncompressed layers) holding the kiln store images `names`; returns its path.
 */
export async function dockerArchiveFromStore(store: Store, names: readonly string[], work: string): Promise<string> {
  const stage = join(work, 'docker-archive');
  mkdirSync(stage, { recursive: true });
  const manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  for (const name of names) {
    const img = await storedImage(store, name);
    const layerFiles: string[] = [];
    for (const l of img.layers) {
      const file = `${l.digest.slice('sha256:'.length)}.tar`;
      if (!existsSync(join(stage, file))) await pipeline(await uncompressedLayer(store, l), createWriteStream(join(stage, file)));
      layerFiles.push(file);
    }
    const cfgFile = `config-${manifest.length}.json`;
    writeFileSync(join(stage, cfgFile), img.rawConfig);
    manifest.push({ Config: cfgFile, RepoTags: [name.replace(/^docker\.io\/(library\/)?/, '')], Layers: layerFiles });
  }
  writeFileSync(join(stage, 'manifest.json'), JSON.stringify(manifest));
  const archive = join(work, 'docker-archive.tar');
  const tar = spawnSync('tar', ['-cf', archive, '-C', stage, '.'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar of the docker archive failed: ${tar.stderr}`);
  rmSync(stage, { recursive: true, force: true });
  return archive;
}

/**
 * Reads a `docker save` archive of one image, extracted in `savedDir`: its image config (`config`
 * of the config blob) and the layer files, bottom first.
 */
export function readDockerSave(savedDir: string): { config: Record<string, unknown>; layers: string[]; history: unknown[] } {
  const m = JSON.parse(readFileSync(join(savedDir, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
  const entry = m[0];
  if (!entry || m.length !== 1) throw new Error(`${savedDir}/manifest.json: expected one image, found ${m.length}`);
  const cfg = JSON.parse(readFileSync(join(savedDir, entry.Config), 'utf8')) as Record<string, unknown>;
  return { config: configFields(cfg), layers: entry.Layers.map((l) => join(savedDir, l)), history: (cfg['history'] as unknown[] | undefined) ?? [] };
}

/** Applies uncompressed layer tar files, bottom first, onto the empty directory `dest`. */
export async function flattenLayerFiles(layers: readonly string[], dest: string): Promise<void> {
  mkdirSync(dest, { recursive: true });
  for (const l of layers) await applyLayer(createReadStream(l, { highWaterMark: 1 << 20 }), dest);
}

/** The image config fields the conformance tests compare. */
export const CONFIG_FIELDS = [
  'Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Labels', 'Volumes', 'StopSignal', 'Healthcheck', 'OnBuild', 'Shell',
  ...TOP_FIELDS.map((f) => `.${f}` as const),
] as const;

/** JSON with object keys sorted (map key order is not meaning: Go's encoder sorts, kiln keeps insertion order). */
export function sortedJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0)))
      : x,
  );
}

/** Differences in CONFIG_FIELDS (null, missing and "" count as unset), one line each. */
export function diffConfigs(a: Record<string, unknown>, b: Record<string, unknown>, labels: readonly [string, string]): string[] {
  const norm = (v: unknown): string | undefined => (v === null || v === undefined || v === '' ? undefined : sortedJson(v));
  const out: string[] = [];
  for (const f of CONFIG_FIELDS) {
    const x = norm(a[f]);
    const y = norm(b[f]);
    const what = f.startsWith('.') ? `image${f}` : `config.${f}`;
    if (x !== y) out.push(`${what}: ${labels[0]} ${x ?? '(unset)'}, ${labels[1]} ${y ?? '(unset)'}`);
  }
  return out;
}

/** A case kiln is known to get wrong: why, and the exact difference lines it produces. */
export interface KnownFailure {
  readonly reason: string;
  readonly diffs: readonly string[];
}

/**
 * Fails unless `diffs` is what is expected: empty for a case not in `known`, exactly the
 * recorded lines for a known failure (so a fixed case, and a new difference, both fail).
 */
export function assertConforms(name: string, diffs: readonly string[], known: KnownFailure | undefined, listFile: string, against: string): void {
  if (known === undefined) {
    if (diffs.length) throw new Error(`kiln differs from ${against} on ${name} (${diffs.length} differences):\n${summariseLines(diffs)}`);
    return;
  }
  if (!diffs.length) throw new Error(`${name} now agrees with ${against}: remove it from KNOWN_FAILURES in ${listFile}`);
  const unexpected = diffs.filter((d) => !known.diffs.includes(d));
  const gone = known.diffs.filter((d) => !diffs.includes(d));
  if (unexpected.length || gone.length) {
    throw new Error(
      `${name} (a known failure: ${known.reason}) differs from ${against} in other ways than KNOWN_FAILURES in ${listFile} records:\n` +
        (unexpected.length ? `new differences:\n${summariseLines(unexpected)}\n` : '') +
        (gone.length ? `recorded differences that are gone (update the entry):\n${summariseLines(gone)}` : ''),
    );
  }
}

function summariseLines(lines: readonly string[], max = 40): string {
  return lines.length <= max ? lines.join('\n') : [...lines.slice(0, max), `… and ${lines.length - max} more`].join('\n');
}

interface HistoryEntry {
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/**
 * Differences between two image histories (the config blob's `history`), one line each:
 * created_by, comment and empty_layer of every entry (never `created`), and the entry count.
 */
export function diffHistory(a: readonly unknown[], b: readonly unknown[], labels: readonly [string, string]): string[] {
  const out: string[] = [];
  if (a.length !== b.length) out.push(`history: ${labels[0]} ${a.length} entries, ${labels[1]} ${b.length}`);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as HistoryEntry;
    const y = b[i] as HistoryEntry;
    for (const f of ['created_by', 'comment', 'empty_layer'] as const) {
      const vx = JSON.stringify(f === 'empty_layer' ? x[f] === true : x[f]);
      const vy = JSON.stringify(f === 'empty_layer' ? y[f] === true : y[f]);
      if (vx !== vy) out.push(`history[${i}].${f}: ${labels[0]} ${vx ?? '(unset)'}, ${labels[1]} ${vy ?? '(unset)'}`);
    }
  }
  return out;
}
