// The side-by-side builder benchmark (`npm run bench`, see bench/README.md): for every case in
// bench/cases and every builder found here, cold / warm / incremental build times, peak memory
// of the builder's process tree, final image size, and the case's physical limit (its RUN
// commands alone, bench/peers/limit.ts). Builders run interleaved, rep by rep, in a rotating
// order, so slow drifts of the machine's load hit all of them alike and kiln/BuildKit ratios
// can be taken pair by pair (rep r of kiln over rep r of BuildKit).
// Writes bench/results/<date>.json (every raw sample), then the report (report.ts).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBuilders, type BenchEnv, type Builder } from './builders.js';
import { measureLimit, type LimitResult } from './limit.js';
import { median } from './stats.js';
import { archiveSize, type ImageSize } from './sizes.js';
import { parseSteps, type Step } from './steps.js';
import { runAny } from './proc.js';
import { BIG_CONTEXT, makeBigContext, type BigContextInfo } from './big-context.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export type Phase = 'cold' | 'warm' | 'incr';

export interface Sample {
  readonly builder: string;
  readonly phase: Phase;
  readonly rep: number;
  readonly seconds: number;
  readonly ok: boolean;
  readonly code: number | null;
  readonly peakRssBytes: number;
  /** 1-minute load average just before the build. */
  readonly loadBefore: number;
  /** CPU seconds the whole machine used during the build (all processes). */
  readonly machineCpuS: number;
  readonly steps?: readonly Step[];
  readonly errorTail?: string;
  /** Cases with LIMIT_EACH_BUILD=1 (bench.conf): the physical limit measured right before this cold build. */
  readonly limitS?: number;
}

export interface CaseResult {
  readonly name: string;
  readonly modifyFile: string;
  /** Cold reps run for this case (bench.conf COLD_REPS can ask for more than --cold-reps); absent in older results. */
  readonly coldReps?: number;
  readonly limit?: LimitResult;
  readonly samples: Sample[];
  readonly sizes: Record<string, ImageSize & { storeCompressedBytes?: number }>;
  /** Set for a generated big-context case (big-context.ts); absent in results from before it. */
  readonly bigContext?: BigContextInfo;
}

export interface BuilderInfo {
  readonly name: string;
  readonly status: 'ok' | 'ABSENT' | 'FAILED';
  readonly reason?: string;
  readonly version?: string;
  readonly command: string;
}

export interface Results {
  readonly date: string;
  readonly runId: string;
  readonly machine: { nproc: number; memGiB: number; kernel: string; os: string; cpu: string };
  readonly options: { cases: string[]; builders: string[]; reps: number; coldReps: number; limit: boolean; micro: boolean };
  readonly conditions: { loadavgStart: string; loadavgEnd?: string; note: string };
  /** Versions of the other tools the numbers depend on (runtime, micro-benchmark references). */
  readonly tools?: Record<string, string>;
  readonly builders: BuilderInfo[];
  readonly cases: CaseResult[];
  micro?: unknown[];
  finishedAt?: string;
}

export interface Options {
  readonly cases?: string[];
  readonly builders?: string[];
  readonly reps: number;
  readonly coldReps: number;
  readonly micro: boolean;
  readonly limit: boolean;
  readonly builds: boolean;
  readonly note?: string;
  readonly out?: string;
}

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function cpuTicks(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system (idle iowait) irq softirq steal
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
}

function readConf(caseDir: string): { modifyFile: string; modifyLine: string; coldReps: number; limitEachBuild: boolean } {
  const conf = join(caseDir, 'bench.conf');
  if (!existsSync(conf)) return { modifyFile: '', modifyLine: '# bench-rev %s', coldReps: 0, limitEachBuild: false };
  const text = readFileSync(conf, 'utf8');
  const get = (k: string) => {
    const m = new RegExp(`^${k}=('([^']*)'|"([^"]*)"|(\\S*))`, 'm').exec(text);
    return m ? (m[2] ?? m[3] ?? m[4] ?? '') : '';
  };
  // COLD_REPS: the fewest cold reps the case needs (more when --cold-reps asks for more)
  const coldReps = Number.parseInt(get('COLD_REPS') || '0', 10);
  // LIMIT_EACH_BUILD=1: the physical limit is measured right before every cold build of every
  // builder (each build is then judged against its own neighbour), not once per rep
  return { modifyFile: get('MODIFY_FILE'), modifyLine: get('MODIFY_LINE') || '# bench-rev %s', coldReps: Number.isFinite(coldReps) ? coldReps : 0, limitEachBuild: get('LIMIT_EACH_BUILD') === '1' };
}

function machine(): Results['machine'] {
  const osr = readFileSync('/etc/os-release', 'utf8');
  return {
    nproc: cpus().length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    os: /PRETTY_NAME="([^"]*)"/.exec(osr)?.[1] ?? 'linux',
    cpu: cpus()[0]?.model ?? '?',
  };
}

const rotate = <T>(xs: readonly T[], n: number): T[] => xs.map((_, i) => xs[(i + n) % xs.length]!);

export async function runBench(opts: Options): Promise<Results> {
  const now = new Date();
  const runId = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const state = process.env['KILN_BENCH_STATE'] ?? '/var/tmp/kiln-bench';
  const work = join(process.env['KILN_BENCH_WORK'] ?? '/tmp/kiln-bench-run', runId);
  mkdirSync(join(work, 'logs'), { recursive: true });
  const env: BenchEnv = {
    state,
    work,
    layout: process.env['KILN_BENCH_LAYOUT'] ?? '/var/cache/kiln/base-layout',
    kilnBin: process.env['KILN_BENCH_KILN'] ?? join(REPO, 'bin', 'kiln'),
    log,
  };
  const casesDir = join(REPO, 'bench', 'cases');
  const allCases = readdirSync(casesDir).filter((c) => existsSync(join(casesDir, c, 'Dockerfile'))).sort();
  // generated at run time from a committed case (big-context.ts)
  allCases.push(...Object.keys(BIG_CONTEXT).filter((c) => allCases.includes(BIG_CONTEXT[c]!.from)));
  const order = ['node-app', 'c-static', 'parallel', 'bigbuilder', 'unused-stage', 'many-layers', 'node-app-20k', 'many-layers-20k'];
  allCases.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  const cases = opts.cases ?? allCases;
  for (const c of cases) if (!allCases.includes(c)) throw new Error(`unknown case ${c} (known: ${allCases.join(', ')})`);
  const names = opts.builders ?? ['kiln', 'buildkit', 'docker-legacy', 'buildah', 'podman'];
  const resultsDir = join(REPO, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const out = opts.out ?? join(resultsDir, `${now.toISOString().slice(0, 10)}.json`);

  const firstLine = async (cmd: string, args: string[]) => {
    const r = await runAny(cmd, args);
    return r.code === 0 ? (r.out.trim().split('\n')[0] ?? '') : 'absent';
  };
  const tools: Record<string, string> = {
    node: process.version,
    runc: await firstLine('runc', ['--version']),
    skopeo: await firstLine('skopeo', ['--version']),
    'GNU tar': await firstLine('tar', ['--version']),
    gzip: await firstLine('gzip', ['--version']),
  };
  const results: Results = {
    tools,
    date: now.toISOString(),
    runId,
    machine: machine(),
    options: { cases, builders: names, reps: opts.reps, coldReps: opts.coldReps, limit: opts.limit, micro: opts.micro },
    conditions: { loadavgStart: readFileSync('/proc/loadavg', 'utf8').trim(), note: opts.note ?? '' },
    builders: [],
    cases: [],
  };
  mkdirSync(dirname(resolve(out)), { recursive: true });
  const save = () => writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);
  log(`run ${runId}: cases [${cases.join(' ')}] builders [${names.join(' ')}] reps ${opts.reps} cold reps ${opts.coldReps}; work ${work}; results ${out}`);

  const builders = opts.builds ? makeBuilders(env, names) : [];
  const ready: Builder[] = [];
  for (const b of builders) {
    const why = await b.check();
    if (why !== undefined) {
      results.builders.push({ name: b.name, status: 'ABSENT', reason: why, command: b.command });
      log(`${b.name}: ABSENT (${why})`);
      continue;
    }
    try {
      await b.setup();
      results.builders.push({ name: b.name, status: 'ok', version: await b.version(), command: b.command });
      ready.push(b);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      results.builders.push({ name: b.name, status: 'FAILED', reason, command: b.command });
      log(`${b.name}: setup FAILED (${reason})`);
    }
  }
  save();

  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping the builders' daemons`);
    void Promise.allSettled(ready.map((b) => b.teardown())).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const allReady: readonly Builder[] = ready;
  try {
    for (const c of opts.builds ? cases : []) {
      const big = BIG_CONTEXT[c];
      let src = join(casesDir, c);
      let bigContext: BigContextInfo | undefined;
      if (big !== undefined) {
        src = join(work, 'gen', c);
        bigContext = makeBigContext(casesDir, big, src);
        log(`== ${c}: generated from ${big.from}: ${bigContext.files} files under ${big.dir}/, read by \`${bigContext.readBy}\`${bigContext.dockerfileChange ? ' (line added to the Dockerfile)' : ''}`);
      }
      // a big-context case runs only its own builders, one cold build (to fill the caches), no
      // physical limit, no image sizes: its point is the warm and incremental rebuilds
      const ready = big === undefined ? allReady : allReady.filter((b) => big.builders.includes(b.name));
      const doLimit = opts.limit && big === undefined;
      const conf = readConf(src);
      const { modifyFile, modifyLine } = conf;
      const limitEachBuild = doLimit && conf.limitEachBuild;
      const coldReps = big === undefined ? Math.max(opts.coldReps, conf.coldReps) : Math.max(1, Math.min(opts.coldReps, big.coldReps));
      const cr: CaseResult = { name: c, modifyFile, coldReps, samples: [], sizes: {}, ...(bigContext !== undefined ? { bigContext } : {}) };
      results.cases.push(cr);
      // the physical limit is measured once per cold rep, next to the cold builds (same load), or
      // with LIMIT_EACH_BUILD right before each cold build; returns that measurement's limitS
      const limits: LimitResult[] = [];
      const measureOnce = async (rep: number, before?: string): Promise<number> => {
        log(`   ${c}: physical limit #${rep}${before !== undefined ? ` before ${before}` : ''} (RUN steps alone in a chroot)`);
        spawnSync('sync'); // as before every timed build
        try {
          const l = await measureLimit(src, c, { kilnBin: env.kilnBin, layout: env.layout, work, log });
          limits.push(l);
          log(`   critical path ${l.criticalPathS.toFixed(2)} s, all RUNs ${l.totalRunS.toFixed(2)} s, limit ${l.limitS.toFixed(2)} s${l.error ? ` (ERROR ${l.error})` : ''}`);
        } catch (e) {
          limits.push({ criticalPathS: NaN, totalRunS: NaN, limitS: NaN, stages: [], runs: [], error: e instanceof Error ? e.message : String(e) });
          log(`   limit failed: ${limits[limits.length - 1]!.error}`);
        }
        const good = limits.filter((l) => l.error === undefined);
        const first = good[0] ?? limits[0]!;
        const starts = good.map((l) => l.runtimeStartS).filter((x): x is number => x !== undefined);
        (cr as { limit?: LimitResult }).limit = good.length === 0 ? first : {
          ...first,
          criticalPathS: median(good.map((l) => l.criticalPathS)),
          totalRunS: median(good.map((l) => l.totalRunS)),
          limitS: median(good.map((l) => l.limitS)),
          reps: good.map((l) => Math.round(l.limitS * 1000) / 1000),
          ...(starts.length > 0 ? { runtimeStartS: median(starts) } : {}),
        };
        return limits[limits.length - 1]!.limitS;
      };
      const ctxOf = (b: Builder) => join(work, 'ctx', c, b.name);
      for (const b of ready) {
        rmSync(ctxOf(b), { recursive: true, force: true });
        mkdirSync(dirname(ctxOf(b)), { recursive: true });
        cpSync(src, ctxOf(b), { recursive: true, verbatimSymlinks: true });
      }
      const tagOf = (b: Builder) => `kiln-bench/${c}:${b.name}`;
      const one = async (b: Builder, phase: Phase, rep: number, limitS?: number) => {
        const logFile = join(work, 'logs', `${c}.${b.name}.${phase}.${rep}.log`);
        // untimed: write back what earlier builds (or the physical-limit run) left dirty, so no
        // build pays for another's page-cache writeback (bigbuilder writes 300 MB per build)
        spawnSync('sync');
        const loadBefore = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
        const c0 = cpuTicks();
        let m;
        try {
          m = await b.build(ctxOf(b), tagOf(b), logFile);
        } catch (e) {
          m = { seconds: NaN, code: -1, peakRssBytes: 0, output: e instanceof Error ? e.message : String(e) };
        }
        const machineCpuS = (cpuTicks() - c0) / 100;
        const ok = m.code === 0;
        const steps = b.name.startsWith('kiln') || b.name === 'buildkit' ? parseSteps(m.output) : undefined;
        const s: Sample = {
          builder: b.name, phase, rep, seconds: Math.round(m.seconds * 1000) / 1000, ok, code: m.code, peakRssBytes: m.peakRssBytes,
          loadBefore, machineCpuS: Math.round(machineCpuS * 100) / 100,
          ...(steps !== undefined ? { steps } : {}),
          ...(ok ? {} : { errorTail: m.output.trim().split('\n').slice(-12).join('\n') }),
          ...(limitS !== undefined && Number.isFinite(limitS) ? { limitS: Math.round(limitS * 1000) / 1000 } : {}),
        };
        cr.samples.push(s);
        log(`   ${c} ${b.name} ${phase}#${rep}: ${ok ? `${s.seconds.toFixed(2)} s, ${(s.peakRssBytes / 2 ** 20).toFixed(0)} MiB` : `FAILED (exit ${m.code}, log ${logFile})`}`);
        return ok;
      };
      const lastOk = new Map<string, boolean>();
      log(`== ${c}: cold x${coldReps}`);
      for (let r = 1; r <= coldReps; r++) {
        if (doLimit && !limitEachBuild) await measureOnce(r);
        for (const b of rotate(ready, r - 1)) {
          try {
            await b.prune(c, src);
          } catch (e) {
            log(`   ${b.name}: prune failed: ${e instanceof Error ? e.message : String(e)}`);
          }
          const limitS = limitEachBuild ? await measureOnce(r, b.name) : undefined;
          lastOk.set(b.name, await one(b, 'cold', r, limitS));
        }
      }
      for (const b of big === undefined ? ready : []) {
        if (!lastOk.get(b.name)) continue;
        const tar = join(work, `save-${c}-${b.name}.tar`);
        try {
          await b.save(tagOf(b), tar);
          const size = await archiveSize(tar);
          const store = b.storeCompressed ? await b.storeCompressed(tagOf(b)) : undefined;
          cr.sizes[b.name] = { ...size, ...(store !== undefined ? { storeCompressedBytes: store } : {}) };
        } catch (e) {
          log(`   ${b.name}: size failed: ${e instanceof Error ? e.message : String(e)}`);
        } finally {
          rmSync(tar, { force: true });
        }
      }
      log(`== ${c}: warm x${opts.reps}`);
      for (let r = 1; r <= opts.reps; r++) for (const b of rotate(ready, r - 1)) if (lastOk.get(b.name)) await one(b, 'warm', r);
      if (modifyFile !== '') {
        log(`== ${c}: incremental x${opts.reps} (${modifyFile})`);
        for (let r = 1; r <= opts.reps; r++) {
          for (const b of rotate(ready, r - 1)) {
            if (!lastOk.get(b.name)) continue;
            appendFileSync(join(ctxOf(b), modifyFile), `${modifyLine.replace('%s', `${b.name}-${runId}-${r}`)}\n`);
            await one(b, 'incr', r);
          }
        }
      }
      rmSync(join(work, 'ctx', c), { recursive: true, force: true });
      if (big !== undefined) rmSync(src, { recursive: true, force: true });
      save();
    }
  } finally {
    for (const b of ready) {
      try {
        await b.teardown();
      } catch (e) {
        log(`${b.name}: teardown failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  if (opts.micro) {
    results.micro = [];
    for (const name of ['parse', 'layer', 'registry']) {
      log(`== micro: ${name}`);
      try {
        const mod = (await import(`../${name}.js`)) as { bench: () => unknown };
        const r = await mod.bench();
        results.micro.push(r);
        log(`   ${JSON.stringify(r)}`);
      } catch (e) {
        results.micro.push({ bench: name, error: e instanceof Error ? e.message : String(e) });
        log(`   ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      save();
    }
  }
  results.conditions.loadavgEnd = readFileSync('/proc/loadavg', 'utf8').trim();
  results.finishedAt = new Date().toISOString();
  save();
  log(`wrote ${out}`);
  return results;
}
