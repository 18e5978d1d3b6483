// The physical limit of a case: how long its RUN commands alone take, with no builder around
// them. kiln's own planner (`kiln debug plan`) gives the stages the default target needs, each
// stage's steps and every RUN's argv/env/cwd; each base image's rootfs is exported once with
// `kiln build -o type=local` (FROM only, untimed) and its config Env read with `kiln inspect`.
// Then the stages are replayed in plain directories: WORKDIR = mkdir -p, COPY = cp -a from the
// context or from an earlier stage's directory, RUN = `unshare --mount --mount-proc=/proc
// --root=DIR --wd=CWD ARGV` (a chroot in a private mount namespace, with /proc; device nodes
// made with mknod, so nothing of the host is bound in and no mount outlives a crash) with the
// step's environment and the host network (as every builder gets with --network host). Only
// the RUN processes are timed.
//
//   criticalPathS = the longest chain of RUN time through the step graph: a stage's steps run
//                   in order after its base (FROM stage) is done, and a COPY --from waits for
//                   that stage; what an ideal builder with unlimited cores waits for
//   totalRunS     = all RUN time of the needed stages (the runs are made one at a time)
//   limitS        = max(criticalPathS, totalRunS / nproc): no builder on this machine can finish
//                   the RUN work sooner (CPU-bound RUNs on `nproc` cores)
//   runtimeStartS = what an OCI runtime adds to each RUN (informational, no target uses it): the
//                   median of RUNTIME_REPS `runc run` of /bin/true in a stage's rootfs with
//                   runc's own default spec (`runc spec`: pid/ipc/uts/mount namespaces, cgroups,
//                   masked paths; no network namespace, as the builders run with --network
//                   host), minus the same /bin/true under `unshare` as above.
//                   A builder must run each RUN in a runtime, so limitS + RUNs × this is the
//                   floor for any builder that does
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join, dirname, basename } from 'node:path';
import { kilnCommand, runMeasured, runOk } from './proc.js';
import { median } from './stats.js';

interface PlanStep {
  kind: string;
  display: string;
  argv?: string[];
  env?: string[];
  cwd?: string;
  path?: string;
  from?: { kind: string; stage?: number; image?: { ref: string } };
  sources?: string[];
  dest?: string;
}
interface PlanStage {
  index: number;
  name: string;
  base: { kind: 'image' | 'stage' | 'scratch'; stage?: number; image?: { ref: string } };
  steps: PlanStep[];
}
interface Plan {
  stages: PlanStage[];
  target: number;
}

export interface RunTiming {
  readonly stage: string;
  readonly step: string;
  readonly seconds: number;
  readonly code: number | null;
}

export interface LimitResult {
  readonly criticalPathS: number;
  readonly totalRunS: number;
  readonly limitS: number;
  readonly stages: readonly string[];
  readonly runs: readonly RunTiming[];
  readonly error?: string;
  /** When measured more than once (main.ts: once per cold rep): each rep's limitS; the fields above are medians (runs: first rep). */
  readonly reps?: readonly number[];
  /** runc's start-up per RUN over the chroot's (see the header); absent when runc is missing or failed. */
  readonly runtimeStartS?: number;
}

const RUNTIME_REPS = 7;

/** runtimeStartS (see the header) measured in `rootfs`, which must have /bin/true; undefined when runc fails. */
async function runtimeStart(rootfs: string, work: string): Promise<number | undefined> {
  const bundle = join(work, 'limit', 'runc-bundle');
  const state = join(work, 'limit', 'runc-state');
  rmSync(bundle, { recursive: true, force: true });
  mkdirSync(bundle, { recursive: true });
  try {
    await runOk('runc', ['spec', '--bundle', bundle]);
    const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as {
      process: { terminal: boolean; args: string[] };
      root: { path: string; readonly: boolean };
      linux: { namespaces: Array<{ type: string }> };
    };
    spec.process.terminal = false;
    // the builders run with --network host (main.ts), so no network namespace is made for a RUN
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
    spec.process.args = ['/bin/true'];
    spec.root = { path: rootfs, readonly: false };
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const runc: number[] = [];
    const chroot: number[] = [];
    for (let i = 0; i < RUNTIME_REPS; i++) {
      const r = await runMeasured('runc', ['--root', state, 'run', '--bundle', bundle, `kiln-bench-limit-${process.pid}-${i}`]);
      if (r.code !== 0) return undefined;
      runc.push(r.seconds);
      const c = await runMeasured('unshare', ['--mount', '--propagation', 'private', '--mount-proc=/proc', `--root=${rootfs}`, '/bin/true']);
      if (c.code !== 0) return undefined;
      chroot.push(c.seconds);
    }
    return Math.max(0, median(runc) - median(chroot));
  } catch {
    return undefined;
  } finally {
    rmSync(bundle, { recursive: true, force: true });
  }
}

export interface LimitEnv {
  readonly kilnBin: string;
  readonly layout: string;
  readonly work: string;
  readonly log: (msg: string) => void;
}

function mergeEnv(base: string[], over: string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const kv of base) {
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  for (const kv of over) {
    const i = kv.indexOf('=');
    const k = kv.slice(0, i);
    // the plan's PATH is Docker's default (base configs are unresolved there): keep the image's
    if (k === 'PATH' && env['PATH'] !== undefined) continue;
    env[k] = kv.slice(i + 1);
  }
  return env;
}

/** cp -a semantics of COPY for plain (non-glob) sources. */
function copyInto(srcRoot: string, sources: string[], destRoot: string, dest: string): void {
  const destIsDir = dest.endsWith('/') || sources.length > 1;
  const d = join(destRoot, dest);
  for (const s of sources) {
    const from = join(srcRoot, s);
    if (statSync(from).isDirectory()) {
      mkdirSync(d, { recursive: true });
      for (const e of readdirSync(from)) cpSync(join(from, e), join(d, e), { recursive: true, verbatimSymlinks: true, force: true });
    } else if (destIsDir || (existsSync(d) && statSync(d).isDirectory())) {
      mkdirSync(d, { recursive: true });
      cpSync(from, join(d, basename(s)), { verbatimSymlinks: true, force: true });
    } else {
      mkdirSync(dirname(d), { recursive: true });
      cpSync(from, d, { verbatimSymlinks: true, force: true });
    }
  }
}

/** What a RUN needs in a bare rootfs: /proc and /tmp dirs, resolv.conf, the usual device nodes. */
async function prepareRootfs(dir: string): Promise<void> {
  for (const p of ['proc', 'dev', 'dev/shm', 'dev/pts', 'etc', 'tmp']) mkdirSync(join(dir, p), { recursive: true });
  copyFileSync('/etc/resolv.conf', join(dir, 'etc', 'resolv.conf'));
  const nodes: Array<[string, number, number]> = [['null', 1, 3], ['zero', 1, 5], ['full', 1, 7], ['random', 1, 8], ['urandom', 1, 9], ['tty', 5, 0]];
  for (const [n, major, minor] of nodes) {
    if (!existsSync(join(dir, 'dev', n))) await runOk('mknod', ['-m', '666', join(dir, 'dev', n), 'c', String(major), String(minor)]);
  }
  for (const [n, target] of [['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2']] as const) {
    if (!existsSync(join(dir, 'dev', n))) await runOk('ln', ['-s', target, join(dir, 'dev', n)]);
  }
}

/** rm -rf, but never through a mount point left below (a bound /dev must not be emptied). */
function safeRemove(dir: string): void {
  const left = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p === dir || p.startsWith(dir + '/'));
  if (left.length > 0) throw new Error(`still mounted below ${dir}: ${left.join(', ')} (not removing it)`);
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

export async function measureLimit(caseDir: string, name: string, env: LimitEnv): Promise<LimitResult> {
  const root = join(env.work, 'limit', name);
  const kilnRoot = join(env.work, 'limit', 'kiln-root');
  const kenv = { ...process.env, KILN_ROOT: kilnRoot };
  const kiln = (args: string[]) => runOk(...kilnCommand(env.kilnBin, args), { env: kenv });
  safeRemove(root);
  mkdirSync(root, { recursive: true });
  const logs = join(env.work, 'logs', `limit-${name}`);
  mkdirSync(logs, { recursive: true });
  if (!existsSync(join(kilnRoot, 'index.json'))) {
    mkdirSync(kilnRoot, { recursive: true });
    await kiln(['load', '-q', '-i', env.layout]);
  }
  const plan = JSON.parse(await kiln(['debug', 'plan', join(caseDir, 'Dockerfile')])) as Plan;
  // stages the target needs
  const need = new Set<number>();
  const visit = (i: number) => {
    if (need.has(i)) return;
    need.add(i);
    const st = plan.stages.find((s) => s.index === i);
    if (st === undefined) throw new Error(`stage ${i} is not in kiln's plan`);
    if (st.base.kind === 'stage') visit(st.base.stage!);
    for (const s of st.steps) if (s.from?.kind === 'stage') visit(s.from.stage!);
  };
  visit(plan.target);

  const baseRoots = new Map<string, { dir: string; env: string[] }>();
  const imageRoot = async (ref: string) => {
    let r = baseRoots.get(ref);
    if (r) return r;
    const dir = join(env.work, 'limit', 'base', ref.replace(/[^a-zA-Z0-9._-]/g, '_'));
    const ctx = `${dir}.ctx`;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${ref}\n`);
    await kiln(['build', '--progress', 'quiet', '-o', `type=local,dest=${dir}`, ctx]);
    const cfg = JSON.parse(await kiln(['inspect', ref])) as Array<{ Config?: { Env?: string[] } }>;
    r = { dir, env: cfg[0]?.Config?.Env ?? [] };
    baseRoots.set(ref, r);
    return r;
  };

  const stageEnv = new Map<number, string[]>();
  const own = new Map<number, number>();
  const crit = new Map<number, number>();
  const runs: RunTiming[] = [];
  let error: string | undefined;
  let synced = false;
  for (const st of plan.stages) {
    if (!need.has(st.index)) continue;
    const dir = join(root, `s${st.index}`);
    let baseEnv: string[] = [];
    if (st.base.kind === 'image') {
      const ref = st.base.image!.ref.replace(/^unresolved:/, '');
      const b = await imageRoot(ref);
      await runOk('cp', ['-a', b.dir, dir]);
      baseEnv = b.env;
    } else if (st.base.kind === 'stage') {
      await runOk('cp', ['-a', join(root, `s${st.base.stage}`), dir]);
      baseEnv = stageEnv.get(st.base.stage!) ?? [];
    } else {
      mkdirSync(dir, { recursive: true });
    }
    let lastEnv = baseEnv;
    let prepared = false;
    let sum = 0;
    // step-level critical path: a stage starts when its base is done; a COPY --from waits
    // for that stage (steps before it need not)
    let t = st.base.kind === 'stage' ? (crit.get(st.base.stage!) ?? 0) : 0;
    try {
      for (const step of st.steps) {
        if (step.kind === 'workdir' && step.path !== undefined) mkdirSync(join(dir, step.path), { recursive: true });
        else if (step.kind === 'copy' && step.sources !== undefined && step.dest !== undefined) {
          if (step.from?.kind === 'stage') {
            t = Math.max(t, crit.get(step.from.stage!) ?? 0);
            copyInto(join(root, `s${step.from.stage}`), step.sources, dir, step.dest);
          } else if (step.from === undefined || step.from.kind === 'context') {
            copyInto(caseDir, step.sources, dir, step.dest);
          } else throw new Error(`COPY from ${step.from.kind} not supported by the limit replay`);
        } else if (step.kind === 'run' && step.argv !== undefined) {
          if (!prepared) {
            await prepareRootfs(dir);
            prepared = true;
          }
          const cwd = step.cwd ?? '/';
          mkdirSync(join(dir, cwd), { recursive: true });
          if (!synced) {
            // as before every timed build (main.ts): the copies made above, and the detached
            // `sync -f` of the kiln run that exported the base, must not be written back while
            // the first RUN is timed (gen.sh writes 300 MB: 1.6 s with a quiet disk, 2.3-2.5 s
            // while ~100 MB of copies are flushed under it)
            spawnSync('sync');
            synced = true;
          }
          const e = mergeEnv(baseEnv, step.env ?? []);
          lastEnv = Object.entries(e).map(([k, v]) => `${k}=${v}`);
          // a private mount namespace: /proc is mounted inside it and vanishes with it, so no
          // mount can outlive the bench (nothing from the host is bound into DIR)
          const m = await runMeasured('unshare', ['--mount', '--propagation', 'private', '--mount-proc=/proc', `--root=${dir}`, `--wd=${cwd}`, ...step.argv], { env: e, log: join(logs, `s${st.index}-run${runs.length}.log`) });
          runs.push({ stage: st.name, step: step.display, seconds: m.seconds, code: m.code });
          sum += m.seconds;
          t += m.seconds;
          if (m.code !== 0) throw new Error(`${st.name}: ${step.display} exited ${m.code} in the chroot: ${m.output.trim().split('\n').slice(-3).join(' | ')}`);
        }
      }
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    stageEnv.set(st.index, lastEnv);
    own.set(st.index, sum);
    crit.set(st.index, t);
    if (error !== undefined) break;
  }
  const criticalPathS = crit.get(plan.target) ?? 0;
  const totalRunS = [...own.values()].reduce((a, b) => a + b, 0);
  const limitS = Math.max(criticalPathS, totalRunS / cpus().length);
  const ran = [...need].map((i) => join(root, `s${i}`)).find((d) => existsSync(join(d, 'bin', 'true')));
  const runtimeStartS = ran !== undefined && error === undefined ? await runtimeStart(ran, env.work) : undefined;
  safeRemove(root);
  return {
    criticalPathS, totalRunS, limitS, stages: plan.stages.filter((s) => need.has(s.index)).map((s) => s.name), runs,
    ...(runtimeStartS !== undefined ? { runtimeStartS } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}
