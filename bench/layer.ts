// Benchmark: layer creation (writeTree + gzip -6 + digest and diffID in one pass) and extraction
// (gunzip + applyLayer) against GNU tar on the same ~20k-file node_modules tree in the same run:
//   create:  `tar -cf - . | gzip -6 | sha256sum`      target: kiln ≤ 1.3× GNU
//   extract: `tar -xzf layer.tar.gz -C dir`           target: kiln ≤ 1.5× GNU
// The tree is built once with npm and cached in /tmp/kiln-bench-tree (KILN_BENCH_TREE overrides).
// Extraction goes to the tree's filesystem (/tmp) and to tmpfs (/dev/shm), which shows CPU overhead
// without this VM's slow ext4 file creation (KILN_BENCH_DEST=dir[,dir] overrides).
// `bench()` returns one JSON-able result (bench/run.ts); run directly it prints JSON lines.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { applyLayer, applyLayerInWorker, decompressLayer, layerFromTar, writeTree } from '../src/layer/index.js';

const TREE = process.env['KILN_BENCH_TREE'] ?? '/tmp/kiln-bench-tree';
const PACKAGES = ['typescript', 'webpack', 'webpack-cli', '@babel/core', 'eslint', 'lodash', 'rxjs', 'date-fns', 'core-js', 'express'];
const RUNS = Number(process.env['KILN_BENCH_RUNS'] ?? 3);

function ensureTree(): void {
  if (existsSync(`${TREE}/node_modules/typescript/package.json`)) return;
  mkdirSync(TREE, { recursive: true });
  writeFileSync(`${TREE}/package.json`, '{"name":"kiln-bench-tree","version":"1.0.0","private":true}\n');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...PACKAGES], { cwd: TREE, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm install for the bench tree failed (exit ${r.status})`);
}

function treeStats(): { files: number; bytes: number } {
  const r = spawnSync('find', [TREE, '-type', 'f', '-printf', '%s\\n'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const sizes = r.stdout.trim().split('\n').map(Number);
  return { files: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0) };
}

/** Runs a | b | c with real pipes between the processes (no shell); resolves with c's stdout. */
function pipe3(a: [string, string[]], b: [string, string[]], c: [string, string[]]): Promise<string> {
  return new Promise((resolve, reject) => {
    const pa = spawn(a[0], a[1], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pb = spawn(b[0], b[1], { stdio: ['pipe', 'pipe', 'inherit'] });
    const pc = spawn(c[0], c[1], { stdio: ['pipe', 'pipe', 'inherit'] });
    pa.stdout.pipe(pb.stdin);
    pb.stdout.pipe(pc.stdin);
    let out = '';
    pc.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    let left = 3;
    const done = (name: string) => (code: number | null) => {
      if (code !== 0) reject(new Error(`${name} exited with ${code}`));
      else if (--left === 0) resolve(out);
    };
    pa.on('close', done(a[0]));
    pb.on('close', done(b[0]));
    pc.on('close', done(c[0]));
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

const nullSink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

interface Comparison {
  kilnS: number;
  gnuS: number;
  ratio: number;
  target: number;
  ok: boolean;
}

export interface LayerBenchResult {
  bench: 'layer';
  files: number;
  mb: number;
  tarMb: number;
  gzMb: number;
  runs: number;
  /** writeTree + gzip -6 + digest + diffID vs tar -c | gzip -6 | sha256sum. */
  create: Comparison;
  /** decompress + applyLayer vs tar -xzf, per destination filesystem; workerS: applyLayerInWorker. */
  extract: Array<Comparison & { dest: string; workerS: number; workerRatio: number }>;
}

function compare(kiln: number[], gnu: number[], target: number): Comparison {
  const ratio = median(kiln) / median(gnu);
  return { kilnS: r3(median(kiln)), gnuS: r3(median(gnu)), ratio: r3(ratio), target, ok: ratio <= target };
}

/** Destinations: the tree's filesystem (/tmp) and, when present, tmpfs (/dev/shm) to show CPU overhead apart from disk. */
function destinations(): string[] {
  const env = process.env['KILN_BENCH_DEST'];
  if (env) return env.split(',');
  return [tmpdir(), ...(existsSync('/dev/shm') ? ['/dev/shm'] : [])];
}

export async function bench(): Promise<LayerBenchResult> {
  ensureTree();
  const { files, bytes } = treeStats();
  const work = mkdtempSync(`${tmpdir()}/kiln-bench-layer-`);
  try {
    const gz = `${work}/layer.tar.gz`;
    // warm the page cache and produce the layer used for extraction
    const made = await layerFromTar(writeTree(TREE), { compression: 'gzip', level: 6 }, createWriteStream(gz));
    await pipe3(['tar', ['-C', TREE, '-cf', '-', '.']], ['gzip', ['-6']], ['sha256sum', []]);

    const kc: number[] = [];
    const gc: number[] = [];
    const kiln = () => layerFromTar(writeTree(TREE), { compression: 'gzip', level: 6 }, nullSink());
    const gnu = () => pipe3(['tar', ['-C', TREE, '-cf', '-', '.']], ['gzip', ['-6']], ['sha256sum', []]);
    for (let i = 0; i < RUNS; i++) {
      // alternate who goes first so neither always gets the warmer machine
      if (i % 2 === 0) {
        kc.push(await time(kiln));
        gc.push(await time(gnu));
      } else {
        gc.push(await time(gnu));
        kc.push(await time(kiln));
      }
    }

    const extract: LayerBenchResult['extract'] = [];
    for (const dest of destinations()) {
      const out = mkdtempSync(`${dest}/kiln-bench-x-`);
      try {
        const ke: number[] = [];
        const ge: number[] = [];
        const we: number[] = [];
        const kilnX = async (dir: string) => applyLayer(await decompressLayer(createReadStream(gz)), dir);
        const gnuX = (dir: string) => run('tar', ['-xzf', gz, '-C', dir]);
        for (let i = 0; i < RUNS; i++) {
          const a = `${out}/kiln-${i}`;
          const b = `${out}/gnu-${i}`;
          const w = `${out}/worker-${i}`;
          mkdirSync(a);
          mkdirSync(b);
          mkdirSync(w);
          spawnSync('sync');
          we.push(await time(async () => applyLayerInWorker(await decompressLayer(createReadStream(gz)), w)));
          rmSync(w, { recursive: true, force: true });
          spawnSync('sync');
          if (i % 2 === 0) {
            ke.push(await time(() => kilnX(a)));
            spawnSync('sync');
            ge.push(await time(() => gnuX(b)));
          } else {
            ge.push(await time(() => gnuX(b)));
            spawnSync('sync');
            ke.push(await time(() => kilnX(a)));
          }
          rmSync(a, { recursive: true, force: true });
          rmSync(b, { recursive: true, force: true });
        }
        extract.push({ dest, ...compare(ke, ge, 1.5), workerS: r3(median(we)), workerRatio: r3(median(we) / median(ge)) });
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
    return {
      bench: 'layer', files, mb: r3(bytes / 1e6), tarMb: r3(made.uncompressedSize / 1e6), gzMb: r3(statSync(gz).size / 1e6), runs: RUNS,
      create: compare(kc, gc, 1.3), extract,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Prints JSON lines: one per measurement. */
export async function main(): Promise<void> {
  const r = await bench();
  const common = { bench: 'layer', files: r.files, mb: r.mb, tarMb: r.tarMb, gzMb: r.gzMb, runs: r.runs };
  console.log(JSON.stringify({ ...common, name: 'create', ...r.create }));
  for (const x of r.extract) console.log(JSON.stringify({ ...common, name: 'extract', ...x }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
