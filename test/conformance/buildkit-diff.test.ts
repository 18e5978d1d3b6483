// Differential tests: every case in test/conformance/cases/<name>/ (a multi-stage Dockerfile,
// its context, an optional `args` file with extra build arguments, one per line, and an
// optional setup.sh run in a copy of the context) is built by BuildKit (Docker 26's private
// engine, test/helpers/dockerd.ts) and by the real `kiln build` CLI from the same busybox base
// bytes, and the results must agree:
//   (1) the image config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Labels,
//       Volumes, StopSignal, Healthcheck, OnBuild, Shell; and author (MAINTAINER), os, architecture);
//   (2) the image history (created_by, comment, empty_layer of each entry: which steps made a
//       layer, and what `docker history` shows);
//   (3) the flattened root filesystem: every path's type, mode (setuid/setgid/sticky too),
//       owner, symlink target, content, hardlink group and xattrs (mtimes ignored).
// A case with an http/ directory gets it served on 127.0.0.1 (test/helpers/case-http.ts) and the
// build argument HTTP_BASE=http://127.0.0.1:PORT/<case>/ for its ADD <url> steps.
// All docker builds share one dockerd; docker and kiln builds run concurrently in before().
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Store } from '../../src/store/index.js';
import { runKiln } from '../helpers/cli.js';
import { needDockerd, startDockerd, type Dockerd } from '../helpers/dockerd.js';
import { isRoot, prereq, which } from '../helpers/prereq.js';
import { haveBusybox } from '../helpers/busybox-rootfs.js';
import { startCaseHttpServer, type CaseHttpServer } from '../helpers/case-http.js';
import { diffTrees, summarise, walkTree, type Tree } from '../helpers/tree-compare.js';
import {
  ALL_BASE_IMAGES, diffConfigs, diffHistory, kilnImageHistory, listKilnLayers, listLayerFiles, dockerArchiveFromStore, flattenKilnImage, flattenLayerFiles, kilnImageConfig, listCases,
  prepareContext, readDockerSave, seedKilnStore, assertConforms, type ConformanceCase,
} from '../helpers/conformance-cases.js';
import { KNOWN_FAILURES } from './known-failures.js';


/**
 * KILN_CONFORMANCE_CASES=REGEX builds and compares only the cases whose name matches (for a
 * closer look at a few; CI always runs them all).
 */
const ONLY = process.env['KILN_CONFORMANCE_CASES'];
const ALL_CASES = listCases('cases');
const CASES = ONLY === undefined || ONLY === '' ? ALL_CASES : ALL_CASES.filter((c) => new RegExp(ONLY).test(c.name));
/** Where KNOWN_FAILURES lives (named in the messages that ask for an entry to change). */
const KNOWN_FAILURES_FILE = 'test/conformance/known-failures.ts';
/**
 * When set, each case's config, tree, history and layer entry lists are written there as JSON
 * (docker-<case>.json, kiln-<case>.json), for looking into a difference.
 */
const DUMP_DIR = process.env['KILN_CONFORMANCE_DUMP'];

function dump(side: string, c: ConformanceCase, r: Result): void {
  if (DUMP_DIR === undefined || r.error !== undefined) return;
  mkdirSync(DUMP_DIR, { recursive: true });
  writeFileSync(join(DUMP_DIR, `${side}-${c.name}.json`), JSON.stringify({ config: r.config, history: r.history, tree: r.tree, layers: r.layers }, null, 1));
  if (httpServed.has(c.name)) writeFileSync(join(DUMP_DIR, `http-${c.name}.json`), JSON.stringify(http!.requests(c.name), null, 1));
}

interface Result {
  /** Set when the build (or reading its output) failed. */
  readonly error?: string;
  /** The end of the build's output when it failed. */
  readonly log?: string;
  /** Only with KILN_CONFORMANCE_DUMP: each layer's entries. */
  readonly layers?: string[][];
  readonly history?: unknown[];
  readonly config?: Record<string, unknown>;
  readonly tree?: Tree;
  readonly ms: number;
}

let work = '';
let dockerd: Dockerd | undefined;
let store: Store | undefined;
let setupError: unknown;
let http: CaseHttpServer | undefined;
/** The cases whose http/ directory the server serves (they get HTTP_BASE). */
const httpServed = new Set<string>();
const dockerResults = new Map<string, Promise<Result>>();
const kilnResults = new Map<string, Promise<Result>>();

const ready = isRoot && haveBusybox() && which('runc') !== undefined;

/** Runs `fn` over `items` with at most `n` at a time; returns one promise per item, in order. */
function limited<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R>[] {
  let running = 0;
  const queue: (() => void)[] = [];
  const next = () => {
    running--;
    queue.shift()?.();
  };
  return items.map(
    (item) =>
      new Promise<R>((resolve, reject) => {
        const start = () => {
          running++;
          fn(item).then(resolve, reject).finally(next);
        };
        if (running < n) start();
        else queue.push(start);
      }),
  );
}

const tail = (s: string, n = 30) => s.trimEnd().split('\n').slice(-n).join('\n');
const imageName = (c: ConformanceCase) => `conformance/${c.name}:latest`;
const contextDir = (c: ConformanceCase) => join(work, 'ctx', c.name);
const httpDir = (c: ConformanceCase) => join(work, 'http', c.name);
/** The case's `args`, and HTTP_BASE when it has an http/ directory. */
const buildArgs = (c: ConformanceCase) => (httpServed.has(c.name) ? [...c.args, '--build-arg', `HTTP_BASE=${http!.baseUrl(c.name)}`] : c.args);
/** Build output with the case's HTTP_BASE (its port changes from run to run) written as ${HTTP_BASE}, for stable difference lines. */
const portless = (c: ConformanceCase, s: string) => (httpServed.has(c.name) ? s.replaceAll(http!.baseUrl(c.name), '${HTTP_BASE}') : s);

async function dockerBuild(d: Dockerd, c: ConformanceCase): Promise<Result> {
  const t0 = Date.now();
  const ctx = contextDir(c);
  const r = await d.docker(['build', '--network', 'host', '-t', imageName(c), ...buildArgs(c), ctx], { env: { DOCKER_BUILDKIT: '1' } });
  if (r.code !== 0) return { error: portless(c, `docker build exited ${r.code}:\n${tail(r.stderr + r.stdout)}`), ms: Date.now() - t0 };
  const saved = join(work, 'docker-save', c.name);
  mkdirSync(saved, { recursive: true });
  await d.dockerOk(['save', '-o', `${saved}.tar`, imageName(c)]);
  const x = spawnSync('tar', ['-xf', `${saved}.tar`, '-C', saved], { encoding: 'utf8' });
  if (x.status !== 0) throw new Error(`extracting docker save of ${c.name}: ${x.stderr}`);
  const { config, layers, history } = readDockerSave(saved);
  const rootfs = join(work, 'rootfs-docker', c.name);
  await flattenLayerFiles(layers, rootfs);
  const tree = walkTree(rootfs);
  const extra = DUMP_DIR === undefined ? {} : { layers: await listLayerFiles(layers) };
  rmSync(saved, { recursive: true, force: true });
  rmSync(`${saved}.tar`, { force: true });
  rmSync(rootfs, { recursive: true, force: true });
  return { config, tree, history, ms: Date.now() - t0, ...extra };
}

async function kilnBuild(s: Store, c: ConformanceCase): Promise<Result> {
  const t0 = Date.now();
  const r = await runKiln(['build', '--progress', 'plain', '-t', imageName(c), ...buildArgs(c), contextDir(c)], {
    env: { KILN_ROOT: s.root },
    timeoutMs: 120_000,
  });
  if (r.code !== 0) {
    const out = portless(c, (r.stderr + r.stdout).trimEnd());
    const lines = out.split('\n');
    const last = [...lines].reverse().find((l) => /^(ERROR\b|kiln:|[A-Z]\w*Error\b)/.test(l)) ?? lines[lines.length - 1] ?? '';
    // one stable line (it can be recorded in KNOWN_FAILURES); the output's end goes to the log
    return { error: `kiln build exited ${r.code ?? r.signal}: ${last.replace(/^ERROR: /, '')}`, log: tail(out), ms: Date.now() - t0 };
  }
  const name = `docker.io/${imageName(c)}`;
  try {
    const config = await kilnImageConfig(s, name);
    const rootfs = join(work, 'rootfs-kiln', c.name);
    await flattenKilnImage(s, name, rootfs);
    const tree = walkTree(rootfs);
    rmSync(rootfs, { recursive: true, force: true });
    const history = await kilnImageHistory(s, name);
    const extra = DUMP_DIR === undefined ? {} : { layers: await listKilnLayers(s, name) };
    return { config, tree, history, ms: Date.now() - t0, ...extra };
  } catch (e) {
    return { error: `reading kiln's image ${name}: ${e instanceof Error ? e.message : String(e)}`, ms: Date.now() - t0 };
  }
}

before(async () => {
  if (!ready) return;
  try {
    work = mkdtempSync(join(tmpdir(), 'kiln-conformance-'));
    store = await seedKilnStore(join(work, 'kiln-root'), work);
    http = await startCaseHttpServer();
    for (const c of CASES) {
      prepareContext(c, contextDir(c), httpDir(c));
      if (!existsSync(httpDir(c))) continue;
      http.serve(c.name, httpDir(c));
      httpServed.add(c.name);
    }
    dockerd = await startDockerd();
    // docker gets the very bytes kiln's store has (config blob and layers)
    const archive = await dockerArchiveFromStore(store, ALL_BASE_IMAGES, work);
    await dockerd.dockerOk(['load', '-q', '-i', archive]);
    const d = dockerd;
    const s = store;
    limited(CASES, 3, (c) => dockerBuild(d, c)).forEach((p, i) => dockerResults.set(CASES[i]!.name, p));
    limited(CASES, 2, (c) => kilnBuild(s, c)).forEach((p, i) => kilnResults.set(CASES[i]!.name, p));
    for (const p of [...dockerResults.values(), ...kilnResults.values()]) p.catch(() => undefined); // awaited by the tests
  } catch (e) {
    setupError = e;
  }
});

after(async () => {
  await Promise.allSettled([...dockerResults.values(), ...kilnResults.values()]);
  await dockerd?.stop();
  await http?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** For a case both must fail: kiln fails cleanly (no crash) and names the same Dockerfile line. */
function errorDifferences(dockerError: string, kl: Result): string[] {
  if (kl.error === undefined) return ['kiln built the image; BuildKit fails: ' + (dockerError.split('\n').find((l) => l.startsWith('ERROR')) ?? '')];
  const out: string[] = [];
  if (/internal error|^\s+at /m.test(kl.log ?? kl.error)) out.push(`kiln crashed instead of a user error: ${kl.error}`);
  const line = /Dockerfile:(\d+)/.exec(dockerError)?.[1];
  const kilnLine = /Dockerfile:(\d+)/.exec(kl.log ?? kl.error)?.[1];
  if (line !== kilnLine) out.push(`error location: docker Dockerfile:${line ?? '(none)'}, kiln Dockerfile:${kilnLine ?? '(none)'}`);
  return out;
}

function differences(dk: Result, kl: Result): string[] {
  if (kl.error !== undefined) return [kl.error];
  return [
    ...diffConfigs(dk.config!, kl.config!, ['docker', 'kiln']),
    ...diffHistory(dk.history!, kl.history!, ['docker', 'kiln']),
    ...diffTrees(dk.tree!, kl.tree!, ['docker', 'kiln']),
  ];
}

test('there are at least 25 cases, each with a Dockerfile', () => {
  assert.ok(ALL_CASES.length >= 25, `only ${ALL_CASES.length} cases`);
  for (const name of KNOWN_FAILURES.keys()) assert.ok(ALL_CASES.some((c) => c.name === name), `KNOWN_FAILURES names a missing case ${name}`);
});

for (const c of CASES) {
  test(`BuildKit vs kiln: ${c.name}${c.args.length ? ` (${c.args.join(' ')})` : ''}`, async (t: TestContext) => {
    if (!prereq(t, ready, 'root, runc and busybox-static')) return;
    if (!needDockerd(t)) return;
    if (setupError !== undefined) throw setupError;
    const dk = await dockerResults.get(c.name)!;
    if (c.expectError) {
      const kl = await kilnResults.get(c.name)!;
      if (kl.log !== undefined) t.diagnostic(`kiln's output ended with:\n${kl.log}`);
      if (dk.error !== undefined) t.diagnostic(`BuildKit's output ended with:\n${tail(dk.error, 8)}`);
      t.diagnostic(`docker ${dk.ms} ms, kiln ${kl.ms} ms`);
      if (dk.error === undefined) assert.fail(`BuildKit built a case that must fail (fix the case): ${c.name}`);
      if (!c.expectError.test(dk.error)) assert.fail(`BuildKit failed otherwise than expect-error says (fix the case):\n${dk.error}`);
      assertConforms(c.name, errorDifferences(dk.error, kl), KNOWN_FAILURES.get(c.name), KNOWN_FAILURES_FILE, 'BuildKit');
      return;
    }
    if (dk.error !== undefined) assert.fail(`BuildKit could not build the case (fix the case, not kiln): ${dk.error}`);
    const kl = await kilnResults.get(c.name)!;
    if (kl.log !== undefined) t.diagnostic(`kiln's output ended with:\n${kl.log}`);
    dump('docker', c, dk);
    dump('kiln', c, kl);
    const diffs = differences(dk, kl);
    t.diagnostic(`docker ${dk.ms} ms, kiln ${kl.ms} ms`);
    const known = KNOWN_FAILURES.get(c.name);
    if (known !== undefined) t.diagnostic(`a known failure (${known.reason}); differences now:\n${summarise(diffs)}`);
    assertConforms(c.name, diffs, known, KNOWN_FAILURES_FILE, 'BuildKit');
  });
}
