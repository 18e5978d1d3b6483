// Differential tests of the build OUTPUTS other than the image: every case in
// test/conformance/outputs/<name>/ (same layout as cases/) is built by BuildKit (Docker 26's
// private engine, buildx 0.13 client, docker driver) and by `kiln build`, from the same busybox
// base bytes, with SOURCE_DATE_EPOCH set (but for context-mtimes), once per output:
//   -o type=local,dest=DIR   the exported tree: path, type, mode (setuid/setgid/sticky), owner,
//                            symlink target, content, hardlink groups, xattrs, mtime;
//   -o type=tar,dest=FILE    the tar, entry by entry in order: name, typeflag, mode, uid/gid,
//   -o - (stdout)            uname/gname, linkname, size, content hash, device, format, mtime,
//                            PAX records, and what follows the last entry;
//   -t NAME (the image)      only --metadata-file, which every build above writes too: its keys,
//                            the shape of each value, and the values that must be equal.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Store } from '../../src/store/index.js';
import { KILN_BIN, PROJECT_ROOT, runKiln } from '../helpers/cli.js';
import { DOCKER_BIN, needDockerd, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { isRoot, prereq, which } from '../helpers/prereq.js';
import { haveBusybox } from '../helpers/busybox-rootfs.js';
import { diffTrees } from '../helpers/tree-compare.js';
import { ALL_BASE_IMAGES, assertConforms, dockerArchiveFromStore, listCases, prepareContext, seedKilnStore, type ConformanceCase, type KnownFailure } from '../helpers/conformance-cases.js';
import {
  diffMetadata, diffMtimes, diffTarListings, listTar, runToFile, walkOutput, type OutputTree, type TarListing,
} from '../helpers/output-compare.js';

const CASES = listCases('outputs');
/**
 * SOURCE_DATE_EPOCH of the builds: BuildKit then SETS every exported mtime to it (CreateFS in
 * exporter/local/fs.go, for type=local and type=tar), it does not clamp. Later than the base
 * images' files (1700000000), earlier than files the builds create, so setting and clamping differ.
 */
const SDE = '1750000000';
/** Cases built without SOURCE_DATE_EPOCH: their files' mtimes come from the context. */
const NO_SDE = new Set(['context-mtimes']);
const sdeEnv = (c: ConformanceCase) => (NO_SDE.has(c.name) ? {} : { SOURCE_DATE_EPOCH: SDE });
/** Every output each case is built with; `-o -` only for these cases (it is the same exporter as type=tar). */
const KINDS = ['local', 'tar', 'stdout', 'image'] as const;
type Kind = (typeof KINDS)[number];
const STDOUT_CASES = new Set(['busybox-final', 'scratch-empty']);
const kindsOf = (c: ConformanceCase): Kind[] => KINDS.filter((k) => k !== 'stdout' || STDOUT_CASES.has(c.name));
/** When set, each side's listings and metadata are written there as JSON (<side>-<case>-<kind>.json). */
const DUMP_DIR = process.env['KILN_OUTPUTS_DUMP'];
const LABELS = ['docker', 'kiln'] as const;

interface Output {
  readonly error?: string;
  readonly metadata?: Record<string, unknown>;
  readonly tree?: OutputTree;
  readonly tar?: TarListing;
}
type Outputs = Partial<Record<Kind, Output>>;

let work = '';
let dockerd: Dockerd | undefined;
let store: Store | undefined;
let setupError: unknown;
const results = new Map<string, Promise<{ docker: Outputs; kiln: Outputs }>>();

const ready = isRoot && haveBusybox() && which('runc') !== undefined && which('cc') !== undefined && which('setfattr') !== undefined;
const tail = (s: string, n = 25) => s.trimEnd().split('\n').slice(-n).join('\n');
const ctxDir = (c: ConformanceCase) => join(work, 'ctx', c.name);

/** The build arguments for one output, writing below `out` (docker and kiln take the same ones). */
function outputArgs(c: ConformanceCase, kind: Kind, out: string): string[] {
  const meta = ['--metadata-file', join(out, 'metadata.json')];
  switch (kind) {
    case 'local': return [...meta, '-o', `type=local,dest=${join(out, 'dir')}`];
    case 'tar': return [...meta, '-o', `type=tar,dest=${join(out, 'out.tar')}`];
    case 'stdout': return [...meta, '-o', '-'];
    case 'image': return [...meta, '-t', `outputs/${c.name}:latest`];
  }
}

async function readOutput(kind: Kind, out: string): Promise<Output> {
  const metaFile = join(out, 'metadata.json');
  if (!existsSync(metaFile)) return { error: 'no --metadata-file written' };
  const metadata = JSON.parse(readFileSync(metaFile, 'utf8')) as Record<string, unknown>;
  if (kind === 'local') return { metadata, tree: walkOutput(join(out, 'dir')) };
  if (kind === 'tar' || kind === 'stdout') return { metadata, tar: listTar(join(out, kind === 'tar' ? 'out.tar' : 'stdout.tar')) };
  return { metadata };
}

async function buildAll(c: ConformanceCase, side: 'docker' | 'kiln', d: Dockerd, s: Store): Promise<Outputs> {
  const res: Outputs = {};
  for (const kind of kindsOf(c)) {
    const out = join(work, 'out', c.name, side, kind);
    mkdirSync(out, { recursive: true });
    const args = ['build', ...(side === 'kiln' ? ['--progress', 'plain'] : ['--network', 'host']), ...outputArgs(c, kind, out), ...c.args, ctxDir(c)];
    const base = { ...process.env, SOURCE_DATE_EPOCH: undefined, ...sdeEnv(c) };
    const env = side === 'kiln'
      ? { ...base, KILN_ROOT: s.root }
      : { ...base, DOCKER_CONFIG: join(d.dir, 'client-config'), DOCKER_HOST: undefined, DOCKER_BUILDKIT: '1' };
    const [cmd, argv] = side === 'kiln' ? [KILN_BIN, args] : [DOCKER_BIN, ['-H', d.host, ...args]];
    let r: { code: number | null; stderr: string };
    if (kind === 'stdout') r = await runToFile(cmd, argv, join(out, 'stdout.tar'), env, PROJECT_ROOT);
    else if (side === 'kiln') r = await runKiln(args, { env, timeoutMs: 180_000 });
    else r = await d.docker(args, { env: { DOCKER_BUILDKIT: '1', SOURCE_DATE_EPOCH: undefined, ...sdeEnv(c) } }).then((x) => ({ code: x.code, stderr: x.stderr + x.stdout }));
    res[kind] = r.code !== 0 ? { error: `${side} build (${kind}) exited ${r.code}:\n${tail(r.stderr)}` } : await readOutput(kind, out);
    if (DUMP_DIR !== undefined) {
      mkdirSync(DUMP_DIR, { recursive: true });
      writeFileSync(join(DUMP_DIR, `${side}-${c.name}-${kind}.json`), JSON.stringify(res[kind], null, 1));
    }
  }
  return res;
}

before(async () => {
  if (!ready) return;
  try {
    work = mkdtempSync(join(tmpdir(), 'kiln-outputs-'));
    store = await seedKilnStore(join(work, 'kiln-root'), work);
    const helper = join(work, 'setxattr');
    const cc = spawnSync('cc', ['-static', '-Os', '-o', helper, join(PROJECT_ROOT, 'test/conformance/outputs/setxattr.c')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`cc -static setxattr.c failed (static libc needed: libc6-dev): ${cc.stderr}`);
    for (const c of CASES) {
      prepareContext(c, ctxDir(c));
      if (readFileSync(join(c.dir, 'Dockerfile'), 'utf8').includes('source=setxattr')) spawnSync('cp', [helper, join(ctxDir(c), 'setxattr')]);
    }
    dockerd = await startDockerd();
    await dockerd.dockerOk(['load', '-q', '-i', await dockerArchiveFromStore(store, ALL_BASE_IMAGES, work)]);
    const [d, s] = [dockerd, store];
    // cases one after the other (each builds every output with both builders at once)
    let prev: Promise<unknown> = Promise.resolve();
    for (const c of CASES) {
      const p = prev.then(async () => {
        const [docker, kiln] = await Promise.all([buildAll(c, 'docker', d, s), buildAll(c, 'kiln', d, s)]);
        return { docker, kiln };
      });
      p.catch(() => undefined);
      results.set(c.name, p);
      prev = p.catch(() => undefined);
    }
  } catch (e) {
    setupError = e;
  }
});

after(async () => {
  await Promise.allSettled(results.values());
  await dockerd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * Metadata keys only BuildKit writes, deliberately: `buildx.build.ref` names the build's record
 * in the buildx builder's history (builder/node/ref, build/build.go in buildx 0.13); kiln has no
 * builder instance and no history API, so there is nothing it could name.
 */
const DOCKER_ONLY_METADATA = ['buildx.build.ref'];
/**
 * Metadata values that must be equal. Digests are compared by shape only: they differ whenever any
 * byte of the image does, and with the docker driver's classic image store BuildKit writes the
 * image ID (config digest) as containerimage.digest too (there is no manifest), where kiln writes
 * its manifest's digest, as BuildKit does with a containerd image store.
 */
const SAME_VALUE_METADATA = ['image.name'];

/**
 * Differences kiln keeps for now, by `<case> <output>` (assertConforms: a new or a vanished
 * difference fails, so a fix has to remove its entry). None at the moment.
 */
const KNOWN: ReadonlyMap<string, KnownFailure> = new Map();

function differences(kind: Kind, dk: Output, kl: Output): string[] {
  const what = kind === 'local' ? 'local' : kind === 'image' ? 'image' : kind === 'tar' ? 'tar' : '-o -';
  const out = diffMetadata(dk.metadata!, kl.metadata!, LABELS, { what: `${what} metadata`, sameValue: SAME_VALUE_METADATA, onlyInA: DOCKER_ONLY_METADATA });
  if (dk.tree && kl.tree) {
    out.push(...diffTrees(dk.tree.tree, kl.tree.tree, LABELS).map((l) => `local ${l}`));
    // The destination directory itself is no entry of BuildKit's export (fsutil's Walk skips the
    // root): the client creates it (os.MkdirAll(dest, 0700), session/filesync/diffcopy.go) and its
    // mtime is whenever the last entry was added; only its mode and owner are compared.
    out.push(...diffMtimes(dk.tree, kl.tree, LABELS, 'local', new Set(['/'])));
  }
  if (dk.tar && kl.tar) out.push(...diffTarListings(dk.tar, kl.tar, LABELS, { mtimes: true, what }));
  return out;
}

for (const c of CASES) {
  for (const kind of kindsOf(c)) {
    const flag = kind === 'local' ? '-o type=local' : kind === 'tar' ? '-o type=tar' : kind === 'stdout' ? '-o -' : '-t (image)';
    test(`BuildKit vs kiln outputs: ${c.name} ${flag}${c.args.length ? ` (${c.args.join(' ')})` : ''} --metadata-file`, async (t: TestContext) => {
      if (!prereq(t, ready, 'root, runc, busybox-static, cc (static libc) and setfattr')) return;
      if (!needDockerd(t)) return;
      if (setupError !== undefined) throw setupError;
      const { docker, kiln } = await results.get(c.name)!;
      const [dk, kl] = [docker[kind]!, kiln[kind]!];
      if (dk.error !== undefined) assert.fail(`BuildKit could not build the case (fix the case, not kiln): ${dk.error}`);
      if (kl.error !== undefined) assert.fail(kl.error);
      assertConforms(`${c.name} ${flag}`, differences(kind, dk, kl), KNOWN.get(`${c.name} ${kind}`), 'test/conformance/outputs-diff.test.ts (KNOWN)', "BuildKit's output");
    });
  }
}

test('the output cases are there', () => {
  assert.deepEqual(CASES.map((c) => c.name), ['busybox-final', 'context-mtimes', 'scratch-empty', 'scratch-final', 'target-stage']);
});
