// The builders the bench compares: kiln, BuildKit (Docker 26's dockerd), Docker's legacy builder,
// buildah and podman. Each has: availability check, version, setup (daemon start, base images
// loaded), a cold-state reset (prune), the timed build, save-to-docker-archive (for sizes) and
// teardown. Every builder keeps its OWN state so that interleaving builders never lets one
// reuse or wipe another's cache:
//   kiln            a fresh KILN_ROOT per cold build (base images `kiln load`ed, untimed)
//   buildkit+legacy one bench-owned dockerd (own data-root/exec-root/socket under STATE);
//                   buildkit's cold reset = rmi its result + `docker builder prune -af`,
//                   legacy's = rmi of every image that is neither a base image nor a BuildKit
//                   result (= its intermediate-image cache) + container prune: neither builder
//                   reads or wipes the other's cache
//   buildah, podman a containers-storage root each (--root/--runroot under STATE)
// Base images (busybox:latest, debian:bookworm-slim, node:20-slim, gcc:12) come from one OCI
// layout (scripts/make-base-images.sh --oci-layout) and are stored under their docker.io/library
// names, so the cases' plain names resolve everywhere without a registry.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kilnCommand, runAny, runMeasured, runOk, type Measured } from './proc.js';

export const BASE_IMAGES = ['busybox:latest', 'debian:bookworm-slim', 'node:20-slim', 'gcc:12'] as const;
export const DOCKER = '/usr/bin/docker';

export interface BenchEnv {
  /** Persistent bench state (docker data-root, containers-storage roots). */
  readonly state: string;
  /** Per-run scratch dir. */
  readonly work: string;
  /** OCI layout with the base images. */
  readonly layout: string;
  /** kiln's command to run: bin/kiln, or a bin/kiln.js (kilnCommand). */
  readonly kilnBin: string;
  readonly log: (msg: string) => void;
}

export interface Builder {
  readonly name: string;
  /** Undefined when usable, else why not (reported as ABSENT). */
  check(): Promise<string | undefined>;
  version(): Promise<string>;
  /** How the build command is run (for the report). */
  readonly command: string;
  setup(): Promise<void>;
  /** Drops every cache and built image of this builder for `caseName` (base images stay). */
  prune(caseName: string, caseDir: string): Promise<void>;
  build(ctx: string, tag: string, log: string): Promise<Measured>;
  /** Writes the image as a docker-archive tar (uncompressed layers). */
  save(tag: string, out: string): Promise<void>;
  /** The image's compressed layer bytes as the builder stores them (kiln only). */
  storeCompressed?(tag: string): Promise<number>;
  teardown(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------ kiln
/**
 * kiln, or with `primed` the variant "kiln-primed": its cold state additionally has the case's
 * base images unpacked into snapshots by a throwaway build (untimed). That mattered when
 * `kiln load` stored only the blobs; since a3f7884 it unpacks them (as `docker load` and
 * containers-storage do), so both measure the same cold state. Not run by default.
 */
export function kilnBuilder(env: BenchEnv, primed = false): Builder {
  let root = '';
  const kenv = () => ({ ...process.env, KILN_ROOT: root });
  const kiln = (args: string[]) => runOk(...kilnCommand(env.kilnBin, args), { env: kenv() });
  return {
    name: primed ? 'kiln-primed' : 'kiln',
    command: primed
      ? 'kiln build --progress plain --network host -t TAG DIR (cold: base images already unpacked)'
      : 'kiln build --progress plain --network host -t TAG DIR',
    async check() {
      return existsSync(env.kilnBin) ? undefined : `${env.kilnBin} not found (compile first: npx tsc -p .)`;
    },
    async version() {
      const v = await runAny(...kilnCommand(env.kilnBin, ['version']));
      const sha = process.env['KILN_BENCH_COMMIT'] ?? (await runAny('git', ['-C', join(env.kilnBin, '..', '..'), 'rev-parse', '--short', 'HEAD'])).out.trim();
      return `${v.out.trim().split('\n')[0] ?? 'kiln ?'}${/^[0-9a-f]{7,}$/.test(sha) ? ` (commit ${sha})` : ''}, Node ${process.version}`;
    },
    async setup() {},
    async prune(caseName, caseDir) {
      if (root !== '') rmSync(root, { recursive: true, force: true });
      root = join(env.work, primed ? 'kiln-primed-root' : 'kiln-root', caseName);
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root, { recursive: true });
      await kiln(['load', '-q', '-i', env.layout]);
      if (primed) {
        // unpack each base image the case uses: a throwaway `FROM base` + `RUN true` build
        const plan = JSON.parse(await kiln(['debug', 'plan', join(caseDir, 'Dockerfile')])) as { stages: Array<{ base: { kind: string; image?: { ref: string } } }> };
        const refs = new Set(plan.stages.filter((st) => st.base.kind === 'image').map((st) => st.base.image!.ref.replace(/^unresolved:/, '')));
        for (const ref of refs) {
          const ctx = join(root, '..', `prime-${caseName}`);
          mkdirSync(ctx, { recursive: true });
          writeFileSync(join(ctx, 'Dockerfile'), `FROM ${ref}\nRUN true\n`);
          await kiln(['build', '--progress', 'quiet', '--network', 'host', ctx]);
          rmSync(ctx, { recursive: true, force: true });
        }
      }
    },
    build(ctx, tag, log) {
      return runMeasured(...kilnCommand(env.kilnBin, ['build', '--progress', 'plain', '--network', 'host', '-t', tag, ctx]), { env: kenv(), log });
    },
    async save(tag, out) {
      await kiln(['save', '-o', out, tag]);
    },
    async storeCompressed(tag) {
      const info = JSON.parse(await kiln(['inspect', tag])) as Array<{ Layers?: Array<{ Size: number }> }>;
      return (info[0]?.Layers ?? []).reduce((a, l) => a + l.Size, 0);
    },
    async teardown() {
      if (root !== '') rmSync(root, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------------------------ docker
/** One bench-owned Docker 26 engine shared by the buildkit and legacy builders. */
class Dockerd {
  readonly dir: string;
  readonly host: string;
  private child: ChildProcess | undefined;
  private starting: Promise<void> | undefined;
  private users = 0;
  constructor(private readonly env: BenchEnv) {
    this.dir = join(env.state, 'docker');
    this.host = `unix://${join(this.dir, 'docker.sock')}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_CONFIG: join(this.dir, 'client-config'), DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined, ...extra };
  }
  docker(args: string[], extra: Record<string, string> = {}) {
    return runOk(DOCKER, ['-H', this.host, ...args], { env: this.cliEnv(extra) });
  }
  start(): Promise<void> {
    this.users++;
    this.starting ??= this.doStart();
    return this.starting;
  }
  private async doStart(): Promise<void> {
    for (const d of ['data', 'exec', 'client-config']) mkdirSync(join(this.dir, d), { recursive: true });
    // a second bench run on the same state dir would delete the first one's socket (its builds
    // then fail with "Cannot connect to the Docker daemon"): refuse instead
    const other = (() => {
      try {
        const pid = Number(readFileSync(join(this.dir, 'dockerd.pid'), 'utf8').trim());
        return pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(this.dir) ? pid : 0;
      } catch {
        return 0;
      }
    })();
    if (other > 0) throw new Error(`another bench run's dockerd (pid ${other}) is using ${this.dir}: wait for it, or give this run its own KILN_BENCH_STATE`);
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
    rmSync(join(this.dir, 'docker.sock'), { force: true });
    const logFd = openSync(join(this.env.work, 'dockerd.log'), 'a');
    this.child = spawn('/usr/sbin/dockerd', [
      '--config-file', join(this.dir, 'daemon.json'), '--data-root', join(this.dir, 'data'), '--exec-root', join(this.dir, 'exec'),
      '--pidfile', join(this.dir, 'dockerd.pid'), '-H', this.host, '--iptables=false', '--ip-masq=false', '--bridge=none',
      '--storage-driver=overlay2',
    ], { stdio: ['ignore', logFd, logFd], env: { ...process.env, DOCKER_HOST: undefined } });
    closeSync(logFd);
    for (let i = 0; ; i++) {
      const r = await runAny(DOCKER, ['-H', this.host, 'info', '--format', '{{.ServerVersion}}'], { env: this.cliEnv() });
      if (r.code === 0) break;
      if (i > 300 || this.child.exitCode !== null) throw new Error(`bench dockerd did not start (log: ${join(this.env.work, 'dockerd.log')})`);
      await sleep(200);
    }
    this.env.log(`dockerd: up (pid ${this.child.pid}, ${this.host})`);
    for (const ref of BASE_IMAGES) {
      const full = `docker.io/library/${ref}`;
      if ((await runAny(DOCKER, ['-H', this.host, 'image', 'inspect', full], { env: this.cliEnv() })).code === 0) continue;
      const tar = join(this.env.work, `base-${ref.replace(/[:/]/g, '_')}.tar`);
      rmSync(tar, { force: true });
      await runOk('skopeo', ['--insecure-policy', 'copy', '-q', `oci:${this.env.layout}:${ref}`, `docker-archive:${tar}:${full}`]);
      await this.docker(['load', '-q', '-i', tar]);
      rmSync(tar, { force: true });
      this.env.log(`dockerd: loaded ${full}`);
    }
  }
  async stop(): Promise<void> {
    if (--this.users > 0 || this.child === undefined) return;
    const child = this.child;
    this.child = undefined;
    this.starting = undefined;
    const containerdPid = Number((() => {
      try {
        return readFileSync(join(this.dir, 'exec', 'containerd', 'containerd.pid'), 'utf8').trim();
      } catch {
        return '0';
      }
    })());
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      for (let i = 0; i < 200 && child.exitCode === null && child.signalCode === null; i++) await sleep(100);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (containerdPid > 0) {
      try {
        process.kill(containerdPid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    // unmount what the engine left (overlay mounts of build containers)
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(this.dir + '/'));
    for (const mp of mounts.sort((a, b) => b.length - a.length)) await runAny('umount', ['-l', mp]);
    this.env.log('dockerd: stopped');
  }
}

function dockerBuilder(env: BenchEnv, d: Dockerd, kind: 'buildkit' | 'legacy'): Builder {
  const buildkit = kind === 'buildkit';
  return {
    name: buildkit ? 'buildkit' : 'docker-legacy',
    command: buildkit
      ? 'DOCKER_BUILDKIT=1 /usr/bin/docker build --progress=plain --network host -t TAG DIR'
      : 'DOCKER_BUILDKIT=0 /usr/bin/docker build --network host -t TAG DIR',
    async check() {
      if (!existsSync('/usr/sbin/dockerd') || !existsSync(DOCKER)) return 'no /usr/sbin/dockerd or /usr/bin/docker (bash scripts/install-modern-docker.sh)';
      const v = await runAny(DOCKER, ['--version']);
      const major = Number(/version (\d+)\./.exec(v.out)?.[1] ?? 0);
      if (major < 26) return `Docker ${major} at ${DOCKER}; Docker 26+ needed (bash scripts/install-modern-docker.sh)`;
      if (buildkit && (await runAny(DOCKER, ['buildx', 'version'])).code !== 0) return 'docker buildx missing';
      return undefined;
    },
    async version() {
      const v = await d.docker(['version', '--format', '{{.Server.Version}}']);
      if (!buildkit) return `Docker ${v.trim()} classic builder (DOCKER_BUILDKIT=0)`;
      const bx = (await runAny(DOCKER, ['buildx', 'version'])).out.trim().split(' ')[1] ?? '?';
      const info = await runAny(DOCKER, ['-H', d.host, 'buildx', 'inspect', 'default'], { env: d.cliEnv() });
      const bk = /BuildKit version:\s*(\S+)/.exec(info.out)?.[1] ?? '?';
      // Debian's build reports v0.0.0+unknown; docker.io 26.1 vendors BuildKit 0.13
      return `Docker ${v.trim()} (built-in BuildKit ${bk === 'v0.0.0+unknown' || bk === '?' ? '0.13 (vendored; reports v0.0.0+unknown)' : bk}, buildx ${bx})`;
    },
    setup: () => d.start(),
    async prune(caseName) {
      await runAny(DOCKER, ['-H', d.host, 'container', 'prune', '-f'], { env: d.cliEnv() });
      const tag = `kiln-bench/${caseName}:${buildkit ? 'buildkit' : 'docker-legacy'}`;
      await runAny(DOCKER, ['-H', d.host, 'rmi', '-f', tag], { env: d.cliEnv() });
      if (buildkit) await d.docker(['builder', 'prune', '-af']);
      else {
        // the legacy cache = untagged intermediate images: remove every image that is neither a
        // base image nor a BuildKit result (BuildKit's own cache lives apart from the image list)
        const keep = new Set<string>();
        const all = new Set<string>();
        for (const line of (await d.docker(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])).split('\n')) {
          const [id, ref] = line.trim().split(' ');
          if (!id || !ref) continue;
          all.add(id);
          if (BASE_IMAGES.some((b) => ref === b || ref === `docker.io/library/${b}`) || ref.endsWith(':buildkit')) keep.add(id);
        }
        const drop = [...all].filter((id) => !keep.has(id));
        if (drop.length > 0) await runAny(DOCKER, ['-H', d.host, 'rmi', '-f', ...drop], { env: d.cliEnv() });
      }
    },
    build(ctx, tag, log) {
      const args = buildkit
        ? ['-H', d.host, 'build', '--progress=plain', '--network', 'host', '-t', tag, ctx]
        : ['-H', d.host, 'build', '--network', 'host', '-t', tag, ctx];
      return runMeasured(DOCKER, args, {
        env: d.cliEnv({ DOCKER_BUILDKIT: buildkit ? '1' : '0' }),
        log,
        daemonPids: () => (d.pid !== undefined ? [d.pid] : []),
        cmdlineMark: d.dir + '/',
      });
    },
    async save(tag, out) {
      await d.docker(['save', '-o', out, tag]);
    },
    teardown: () => d.stop(),
  };
}

// ------------------------------------------------------------------------ buildah / podman
function containersBuilder(env: BenchEnv, tool: 'buildah' | 'podman'): Builder {
  const root = join(env.state, `cs-${tool}`, 'root');
  const runroot = join(env.state, `cs-${tool}`, 'run');
  const g = ['--root', root, '--runroot', runroot, '--storage-driver', 'overlay'];
  const podman = (args: string[]) => runOk('podman', [...g, ...args]);
  return {
    name: tool,
    command: tool === 'buildah'
      ? 'buildah bud --layers --jobs 2 --network host -t TAG DIR'
      : 'podman build --network host -t TAG DIR  (defaults: --layers, --jobs 1)',
    async check() {
      for (const t of [tool, 'podman', 'skopeo']) {
        const r = await runAny(t, ['--version']);
        if (r.code !== 0) return `${t} not installed (bash bench/setup.sh)`;
      }
      return undefined;
    },
    async version() {
      return (await runOk(tool, ['--version'])).trim().replace(/^(\S+) version (\S+).*$/s, '$1 $2') + ' (runc, overlay)';
    },
    async setup() {
      mkdirSync(root, { recursive: true });
      mkdirSync(runroot, { recursive: true });
      for (const ref of BASE_IMAGES) {
        const full = `docker.io/library/${ref}`;
        if ((await runAny('podman', [...g, 'image', 'exists', full])).code === 0) continue;
        await runOk('skopeo', ['--insecure-policy', 'copy', '-q', `oci:${env.layout}:${ref}`, `containers-storage:[overlay@${root}+${runroot}]${full}`]);
        env.log(`${tool}: loaded ${full}`);
      }
    },
    async prune() {
      await runAny('buildah', [...g, 'rm', '--all']);
      // this root holds only the base images and what the bench built: drop every other image
      // (results and the --layers cache of intermediate images), repeating while any is left
      for (let i = 0; i < 5; i++) {
        const keep = new Set<string>();
        const all = new Set<string>();
        for (const line of (await podman(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])).split('\n')) {
          const [id, ref] = line.trim().split(' ');
          if (!id || !ref) continue;
          all.add(id);
          if (BASE_IMAGES.some((b) => ref === `docker.io/library/${b}`)) keep.add(id);
        }
        const drop = [...all].filter((id) => !keep.has(id));
        if (drop.length === 0) break;
        await runAny('podman', [...g, 'rmi', '-f', ...drop]);
      }
    },
    build(ctx, tag, log) {
      const args = tool === 'buildah'
        ? [...g, 'bud', '--layers', '--jobs', '2', '--network', 'host', '-t', tag, ctx]
        : [...g, 'build', '--network', 'host', '-t', tag, ctx];
      return runMeasured(tool, args, { log });
    },
    async save(tag, out) {
      await podman(['save', '-q', '--format', 'docker-archive', '-o', out, `localhost/${tag}`]);
    },
    async teardown() {},
  };
}

export const BUILDER_NAMES = ['kiln', 'kiln-primed', 'buildkit', 'docker-legacy', 'buildah', 'podman'] as const;

export function makeBuilders(env: BenchEnv, names: readonly string[]): Builder[] {
  const d = new Dockerd(env);
  const all: Record<string, () => Builder> = {
    kiln: () => kilnBuilder(env),
    'kiln-primed': () => kilnBuilder(env, true),
    buildkit: () => dockerBuilder(env, d, 'buildkit'),
    'docker-legacy': () => dockerBuilder(env, d, 'legacy'),
    buildah: () => containersBuilder(env, 'buildah'),
    podman: () => containersBuilder(env, 'podman'),
  };
  return names.map((n) => {
    const make = all[n];
    if (make === undefined) throw new Error(`unknown builder ${n} (known: ${Object.keys(all).join(', ')})`);
    return make();
  });
}
