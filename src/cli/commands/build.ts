// `kiln build [OPTIONS] PATH`: docker build / buildx build compatible flags → plan → build → store.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../../errors.js';
import { ExitCode } from '../exit-codes.js';
import { checkFrontend, parse, toStages } from '../../dockerfile/index.js';
import { parseDockerignore, IgnoreMatcher } from '../../context/index.js';
import { hostPlatform, parseManifest, type Descriptor, type Manifest, type Platform } from '../../image/index.js';
import { planBuild, type ResolvedImage } from '../../plan/index.js';
import { build, computeSizeReport, formatDecisions, type BuildResult } from '../../build/index.js';
import { createSnapshotter } from '../../snapshot/index.js';
import { RuncRuntime, findRuntime } from '../../exec/index.js';
import { resolveStoreRoot } from '../../store/index.js';
import { formatReference, parseNormalizedReference } from '../../registry/index.js';
import { ProgressEmitter } from '../../progress/index.js';
import { killChildrenOnExit } from '../../support/index.js';
import { makeRenderer, parseProgressMode, renderSizeReport } from '../render/index.js';
import { openStore } from './store.js';
import { exportCaches, importCaches, registryClients } from './build-cache.js';
import { parseCacheFrom, parseCacheTo } from './cache-spec.js';
import { clientOptions, pushImage } from './registry.js';
import { layoutResolver, parseBuildContexts } from './build-context.js';
import { runContainerOptions } from './run-flags.js';
import { checkStdoutOutputs, writeOutputs } from './build-outputs.js';
import { readStdinContext, readUrlContext } from './build-stdin.js';
import { isGitContext, readGitContext } from './build-git.js';
import { agentWithKeys } from './ssh-keys.js';
import { checkOutput, checkPlatformFlag, checkWritableTargets, collect, noCacheFilterOption, readDockerfile, readIgnoreFile, outputSpec, parseBuildArgs, parseLabels, parseSecrets, parseSsh, tagName } from './build-flags.js';
import { pullToStore, resolveFromStore } from '../base-images.js';
import { setMaxListeners } from 'node:events';

interface BuildFlags {
  tag: string[];
  file?: string;
  target?: string;
  buildArg: string[];
  label: string[];
  cache?: boolean;
  pull?: string | boolean;
  platform?: string;
  network?: string;
  output: string[];
  iidfile?: string;
  metadataFile?: string;
  progress: string;
  quiet?: boolean;
  jobs?: string;
  runtime?: string;
  secret: string[];
  ssh: string[];
  cacheTo: string[];
  cacheFrom: string[];
  noCacheFilter: string[];
  explain?: boolean;
  buildContext: string[];
  addHost: string[];
  shmSize?: string;
  ulimit: string[];
  cgroupParent?: string;
  push?: boolean;
  sizeReport?: boolean;
}

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('Build an image from a Dockerfile')
    .argument('<PATH>', 'build context directory')
    .option('-t, --tag <name:tag>', 'name and optionally a tag (repeatable)', collect, [])
    .option('-f, --file <path>', 'name of the Dockerfile (default: PATH/Dockerfile)')
    .option('--target <stage>', 'set the target build stage to build')
    .option('--build-arg <key=value>', 'set build-time variables (repeatable)', collect, [])
    .option('--label <key=value>', 'set metadata for an image (repeatable)', collect, [])
    .option('--no-cache', 'do not use the cache when building the image')
    .option('--pull [mode]', 'missing|always|never: when to pull base images (default missing; a bare --pull, as with docker build, is always)')
    .option('--platform <os/arch[/variant]>', 'target platform (only the native platform is supported)')
    .option('--network <mode>', 'default network mode for RUN instructions: default|none|host')
    .option('-o, --output <spec>', 'output destination (type=local,dest=DIR | type=tar,dest=FILE | type=oci,dest=FILE | type=docker,dest=FILE; dest=- is stdout, -o - a tar of the files)', collect, [])
    .option('--iidfile <file>', 'write the image ID to the file')
    .option('--metadata-file <file>', 'write build result metadata to the file')
    .option('--progress <mode>', 'progress output: auto|tty|plain|rawjson|quiet', 'auto')
    .option('-q, --quiet', 'suppress the build output and print the image ID on success')
    .option('--jobs <n>', 'stages built at the same time (default 16: like BuildKit, stages are not held back by the core count)')
    .option('--runtime <path>', 'OCI runtime for RUN (default: runc on PATH)')
    .option('--secret <spec>', 'secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR (repeatable)', collect, [])
    .option('--ssh <spec>', 'SSH agent for RUN --mount=type=ssh: default ($SSH_AUTH_SOCK), default=SOCKET or ID=SOCKET (repeatable)', collect, [])
    .option('--explain', 'after the build, print every step\'s cache key inputs and why it ran or came from the cache')
    .option('--cache-to <spec>', 'export the build cache: type=registry,ref=R[,mode=min|max] | type=local,dest=DIR[,mode=min|max] (repeatable)', collect, [])
    .option('--cache-from <spec>', 'use a shared build cache: type=registry,ref=R | type=local,src=DIR (repeatable)', collect, [])
    .option('--add-host <host:ip>', 'add a custom host-to-IP mapping to /etc/hosts of RUN steps: HOST:IP, HOST=IP or HOST:host-gateway (repeatable)', collect, [])
    .option('--shm-size <bytes>', 'size of /dev/shm for RUN steps, e.g. 128m (default 64m)')
    .option('--cgroup-parent <path>', 'cgroup for RUN steps: each goes under /PATH/buildkit/ (cgroupfs paths; not a systemd slice)')
    .option('--ulimit <name=soft[:hard]>', 'resource limit for RUN steps, e.g. nofile=1024:2048 (-1 = unlimited; repeatable)', collect, [])
    .option('--build-context <name=value>', 'named build context: NAME=DIR | NAME=docker-image://REF | NAME=oci-layout://PATH[:TAG|@DIGEST] (repeatable)', collect, [])
    .option('--push', 'push the image to its registry after the build')
    // docker build's defaults, and what kiln always does: every RUN container is removed when its step ends
    .option('--rm', 'remove intermediate containers after a successful build (always done; accepted for docker build scripts)')
    .option('--force-rm', 'always remove intermediate containers (always done; accepted for docker build scripts)')
    .option('--size-report', 'print the image and stage sizes at the end even when stderr is not a terminal')
    .option('--no-size-report', 'do not print the image and stage sizes at the end')
    .addOption(noCacheFilterOption())
    .action(async (path: string, flags: BuildFlags) => {
      await runBuild(path, flags);
    });
}

async function runBuild(path: string, flags: BuildFlags): Promise<void> {
  // Flags kiln accepts but does not implement yet fail loudly, never silently.
  const secrets = parseSecrets(flags.secret, process.env);
  const ssh = parseSsh(flags.ssh, process.env);
  const cacheTo = flags.cacheTo.map(parseCacheTo);
  const cacheFrom = flags.cacheFrom.map(parseCacheFrom);
  const buildContexts = parseBuildContexts(flags.buildContext, process.cwd());
  const runContainer = runContainerOptions(flags);
  const outputs = flags.output.map(outputSpec);
  for (const o of outputs) checkOutput(o);
  checkWritableTargets(outputs, flags);
  // -o type=image,name=N[,push=true] is -t N [--push], and type=registry,name=N is
  // type=image,name=N,push=true, as in buildx
  for (const o of outputs.filter((x) => x['type'] === 'image' || x['type'] === 'registry')) {
    if (o['name'] !== undefined) flags.tag.push(o['name']);
    if (o['push'] === 'true' || o['type'] === 'registry') flags.push = true;
  }
  if (flags.push && flags.tag.length === 0) throw new KilnError('USAGE', '--push needs a name to push to', { hint: 'add -t REGISTRY/NAME:TAG, e.g. -t 127.0.0.1:5000/app:1 --push' });
  const progressMode = parseProgressMode(flags.progress);
  checkStdoutOutputs(outputs, flags.quiet === true || progressMode === 'quiet', process.stdout.isTTY === true);
  for (const t of flags.tag) tagName(t); // a bad -t is a usage error before any work, like docker
  const pullMode = parsePullMode(flags.pull);
  if (flags.network !== undefined && !['default', 'none', 'host'].includes(flags.network)) {
    throw new KilnError('USAGE', `invalid --network ${JSON.stringify(flags.network)}: use default, none or host`);
  }
  // RUN steps share the host's network by default (see exec/spec.ts), so `host` and `default`
  // agree; `none` is the network of every RUN that does not choose its own
  const host = hostPlatform();
  if (flags.platform !== undefined) checkPlatformFlag(flags.platform, host);

  // docker build reads `-` as a context (or a Dockerfile) on stdin, even when a directory of that
  // name exists, clones a Git context (build-git.ts) and downloads an http(s) one
  const root = resolveStoreRoot(process.env);
  const tmpParent = join(root, 'build', 'tmp');
  const fetched =
    path === '-' ? await readStdinContext(process.stdin, tmpParent, flags.file)
    : isGitContext(path) ? await readGitContext(path, tmpParent, { file: flags.file, buildArgs: flags.buildArg, ssh })
    : /^https?:\/\//i.test(path) ? await readUrlContext(path, tmpParent, flags.file)
    : undefined;
  const contextDir = fetched?.dir ?? resolve(path);
  if (!existsSync(contextDir)) {
    throw new KilnError('CONTEXT_PATH_NOT_FOUND', `unable to prepare context: path ${JSON.stringify(path)} not found`, { hint: 'pass the build context directory, e.g. `kiln build .`' });
  }
  if (!statSync(contextDir).isDirectory()) {
    throw new KilnError('CONTEXT_PATH_NOT_FOUND', `unable to prepare context: context must be a directory: ${contextDir}`, { hint: 'pass the directory that holds the Dockerfile (`kiln build .`), or name the Dockerfile with -f' });
  }
  // an archive from stdin or a URL holds the Dockerfile: -f names it inside the archive
  const dockerfilePath = fetched?.dockerfilePath ?? (flags.file === undefined || fetched ? join(contextDir, flags.file ?? 'Dockerfile') : flags.file === '-' ? '-' : resolve(flags.file));
  const fileName = dockerfilePath === '-' ? 'Dockerfile' : flags.file ?? 'Dockerfile';
  const text = fetched?.dockerfileText ?? readDockerfile(dockerfilePath, fileName);
  const ast = parse(text, { file: fileName });
  const buildArgs = parseBuildArgs(flags.buildArg, process.env);
  checkFrontend(ast, buildArgs.get('BUILDKIT_SYNTAX'));
  const stages = toStages(ast);
  for (const f of flags.noCacheFilter) {
    if (!stages.stages.some((st, i) => st.name === f.toLowerCase() || String(i) === f)) {
      throw new KilnError('USAGE', `--no-cache-filter ${f}: no stage named ${JSON.stringify(f)} in the Dockerfile`, { hint: 'give a stage name (FROM … AS name) or index' });
    }
  }

  // .dockerignore: <Dockerfile>.dockerignore next to the Dockerfile wins over <context>/.dockerignore.
  // BuildKit applies none to a context from stdin or a URL (see build-stdin.ts).
  let ignore: IgnoreMatcher | undefined;
  for (const p of fetched ? [] : [dockerfilePath === '-' ? undefined : `${dockerfilePath}.dockerignore`, join(contextDir, '.dockerignore')]) {
    const text = p === undefined ? undefined : readIgnoreFile(p);
    if (text !== undefined) {
      ignore = new IgnoreMatcher(parseDockerignore(text, p === join(contextDir, '.dockerignore') ? '.dockerignore' : p));
      break;
    }
  }

  const store = openStore();
  const fromLayout = layoutResolver(store, buildContexts.layouts);
  let progressForPull: ProgressEmitter | undefined; // set once the renderer exists
  const resolveImage = async (ref: string, platform: Platform, signal?: AbortSignal): Promise<ResolvedImage> => {
    const l = await fromLayout(ref, platform, signal);
    if (l) return l;
    // --pull=always: the registry's current image for the tag (blobs already stored are not fetched again)
    const r = pullMode === 'always' ? undefined : await resolveFromStore(store, ref, platform);
    if (r) return r;
    if (pullMode !== 'never') {
      // shown while it lasts, as BuildKit's "[internal] load metadata for ...": a registry that
      // does not answer is otherwise minutes of silence
      const id = progressForPull?.start('internal', `[internal] load metadata for ${ref}`);
      const t0 = performance.now();
      try {
        const pulled = await pullToStore(store, ref, platform, signal, pullMode === 'always');
        if (id !== undefined) progressForPull?.done(id, performance.now() - t0);
        if (pulled) return pulled;
      } catch (e: unknown) {
        if (id !== undefined) progressForPull?.error(id, e instanceof Error ? e.message : String(e));
        throw e;
      }
    }
    throw new KilnError('IMAGE_NOT_FOUND', `${ref}: image not found in the local store`, {
      hint: pullMode === 'never' ? 'load it first (kiln load / kiln import / kiln pull)' : `pull it first with \`kiln pull ${ref}\`, or load it with kiln load / kiln import`,
    });
  };
  const ac = new AbortController();
  setMaxListeners(0, ac.signal); // one listener per stage and step (Node warns from 11 on)
  const onSignal = (sig: NodeJS.Signals): void =>
    ac.abort(sig === 'SIGTERM' ? new KilnError('ABORTED', 'build terminated (SIGTERM)', { exitCode: ExitCode.TERMINATED }) : new KilnError('ABORTED', 'build interrupted'));
  // Kept for the whole command: a second Ctrl-C must not kill kiln while it unmounts and cleans up.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  killChildrenOnExit();

  // --progress quiet is -q in buildx: no progress, the image ID on stdout
  const quiet = flags.quiet === true || progressMode === 'quiet';
  const renderer = makeRenderer(quiet ? 'quiet' : progressMode, process.stderr);
  const progress = new ProgressEmitter(renderer.onEvent);
  progressForPull = progress;

  const plan = await planBuild(
    {
      stages,
      ...(flags.target !== undefined ? { target: flags.target } : {}),
      buildArgs,
      targetPlatform: host,
      buildPlatform: host,
      labels: parseLabels(flags.label),
      sourceLines: ast.lines,
      escapeToken: ast.directives.escape,
      file: fileName,
      namedContexts: buildContexts.named,
      runContainer,
      ...(flags.network === 'none' ? { network: 'none' as const } : {}),
    },
    resolveImage,
    ac.signal,
  );
  for (const w of plan.warnings) progress.warn(w);

  const stateDir = join(root, 'build');
  mkdirSync(stateDir, { recursive: true });
  const snapshotter = await createSnapshotter(join(root, 'snapshots'));
  const runtime = new RuncRuntime({ runtimePath: findRuntime(flags.runtime !== undefined ? { runtime: flags.runtime } : {}), stateDir: join(root, 'run') });
  await runtime.cleanupStale().catch(() => undefined);
  await snapshotter.cleanupStale().catch(() => undefined);

  // buildx passes the environment's SOURCE_DATE_EPOCH as a build argument unless one is given
  const sde = buildArgs.get('SOURCE_DATE_EPOCH') ?? process.env['SOURCE_DATE_EPOCH'];
  const sourceDateEpoch = sde !== undefined && sde !== '' ? Number(sde) : undefined;
  if (sourceDateEpoch !== undefined && (!Number.isInteger(sourceDateEpoch) || sourceDateEpoch < 0)) {
    throw new KilnError('USAGE', `invalid SOURCE_DATE_EPOCH ${JSON.stringify(sde)}: expected whole seconds since 1970`);
  }
  // --ssh ID=KEYFILE: an agent of kiln's own serves the keys (ssh-keys.ts)
  const sshSockets = new Map<string, string>();
  for (const [id, src] of ssh) sshSockets.set(id, 'socket' in src ? src.socket : await agentWithKeys(src.spec, src.keys, tmpParent));
  const t0 = Date.now();
  let result: BuildResult;
  const clients = registryClients(clientOptions({}));
  const cacheDeps = { store, snapshotter, stateDir, client: clients.get, progress, compression: 'gzip' as const, ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}) };
  try {
    const remoteCache = await importCaches(cacheFrom, cacheDeps, ac.signal);
    result = await build(
      plan,
      {
        store,
        snapshotter,
        runtime,
        ensureImage: async (img: ResolvedImage): Promise<Manifest> => {
          const parsed = parseManifest(await store.readBytes(img.digest));
          if (parsed.kind !== 'manifest') throw new KilnError('IMAGE_INVALID', `${img.ref}: not an image manifest`);
          return parsed.manifest;
        },
        stateDir,
        contextDir,
        ...(fetched ? { contextFetched: true } : {}),
        ...(ignore ? { ignore } : {}),
        progress,
        ...(remoteCache ? { remoteCache } : {}),
      },
      {
        jobs: parseJobs(flags.jobs),
        noCache: flags.cache === false,
        compression: 'gzip',
        signal: ac.signal,
        sourceLines: ast.lines,
        ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
        // a fetched context is a new directory each time: its steps' slots are named for its origin
        cache: { noCacheFilter: flags.noCacheFilter.map((f) => f.toLowerCase()), dockerfile: fetched ? `<${path === '-' ? 'stdin' : path}>/${fileName}` : dockerfilePath === '-' ? join(contextDir, '-') : dockerfilePath },
        mounts: { secrets, ssh: sshSockets },
      },
    );
    await exportCaches(cacheTo, plan, result, cacheDeps, ac.signal);
  } catch (e: unknown) {
    // after Ctrl-C, whatever step or export noticed it reports the interrupt, not an error at a line
    if (ac.signal.aborted) throw ac.signal.reason;
    if (fetched?.dockerfileText !== undefined && e instanceof KilnError && e.code === 'CONTEXT_PATH_NOT_FOUND') {
      throw e.with({ hint: `the Dockerfile came ${path === '-' ? 'on standard input' : 'from the URL'} alone, so the build context is empty: pass a context directory (\`kiln build -f - DIR\`) or send the context as a tar archive` });
    }
    throw e;
  } finally {
    clients.close();
    renderer.close();
  }
  // the handlers stay until kiln exits: a Ctrl-C while the outputs are written or pushed still
  // ends in the build's own clean-up and exit code, not Node's default kill

  const desc: Descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: result.image.manifestDigest, size: result.image.manifestSize };
  const names = flags.tag.map(tagName);
  if (names.length) await store.tag(names.map((name) => ({ name, descriptor: desc })));
  await writeOutputs(outputs, result, desc, names, store, snapshotter, sourceDateEpoch);
  const imageId = result.image.configDigest;
  if (flags.iidfile) writeFileSync(flags.iidfile, imageId);
  if (flags.metadataFile) {
    // BuildKit's local and tar exporters report nothing: the image keys come with an image output
    const imageOut = outputs.length === 0 || outputs.some((o) => o['type'] !== 'local' && o['type'] !== 'tar');
    const meta = imageOut ? { 'containerimage.config.digest': imageId, 'containerimage.digest': result.image.manifestDigest, ...(names.length ? { 'image.name': names.join(',') } : {}) } : {};
    writeFileSync(flags.metadataFile, JSON.stringify(meta, null, 2) + '\n');
  }
  if (!quiet) {
    process.stderr.write(`writing image ${imageId} done\n`);
    for (const n of names) process.stderr.write(`naming to ${n} done\n`);
  }
  if (flags.push) {
    // a later name on the same registry mounts the blobs the earlier ones uploaded
    const pushed: { domain: string; path: string }[] = [];
    for (const t of flags.tag) {
      if (!quiet) process.stderr.write(`pushing ${t}\n`);
      const domain = parseNormalizedReference(t).domain;
      const mountFrom = [...new Set(pushed.filter((p) => p.domain === domain).map((p) => `${p.domain}/${p.path}`))];
      const res = await pushImage(store, desc, t, { mountFrom, signal: ac.signal, out: (line) => { if (!quiet) process.stderr.write(`  ${line}\n`); } });
      pushed.push({ domain: res.ref.domain, path: res.ref.path });
      if (!quiet) process.stderr.write(`pushed ${formatReference(res.ref)}@${res.digest}\n`);
    }
  }
  if (quiet) {
    process.stdout.write(`${imageId}\n`);
    return;
  }
  if (flags.explain) process.stderr.write(formatDecisions(result.decisions) + `context files hashed: ${result.contextHash.read + result.contextHash.statHits} (${result.contextHash.read} read, ${result.contextHash.statHits} from the stat cache)\n`);
  // Measuring a new base image's snapshots costs ~1 s once (sizes are remembered per snapshot):
  // by default only for a person watching; --size-report / --no-size-report decide explicitly.
  if (flags.sizeReport === true || (flags.sizeReport !== false && (process.stderr.isTTY === true || process.stdout.isTTY === true))) {
    // the image is built and named: a report that cannot be made must not fail the build
    try {
      const report = await computeSizeReport(result, plan, snapshotter, stateDir);
      process.stderr.write(renderSizeReport(report, { imageName: flags.tag[0] ?? imageId.slice(0, 'sha256:'.length + 12), ...(process.stderr.isTTY ? { width: process.stderr.columns } : {}) }));
      if (process.env['KILN_DEBUG_SIZE_COST']) process.stderr.write(`size report: ${report.cost.ms.toFixed(0)} ms, ${report.cost.measured} snapshots measured\n`);
    } catch (e: unknown) {
      process.stderr.write(`WARNING: no size report: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  const ran = result.stages.reduce((a, s) => a + s.ran, 0);
  const cached = result.stages.reduce((a, s) => a + s.cached, 0);
  process.stderr.write(`built in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${ran} steps ran, ${cached} cached; stages built: ${stageList(result.stages.map((s) => s.name))}${plan.pruned.length ? `; skipped (unused): ${plan.pruned.length}` : ''}\n`);
}

/** Stage names for the summary line: the first ten, then how many more (a 600-stage build is one line). */
function stageList(names: readonly string[]): string {
  return names.length <= 10 ? names.join(', ') : `${names.slice(0, 10).join(', ')} and ${names.length - 10} more`;
}

/** `--jobs N`: a positive whole number; default 16 (parallel stages mostly wait on I/O and the network). */
function parseJobs(v: string | undefined): number {
  if (v === undefined) return 16;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new KilnError('USAGE', `invalid --jobs ${JSON.stringify(v)}: expected a whole number from 1 to 1024`);
  return n;
}

const PULL_MODES = new Map<string, 'missing' | 'always' | 'never'>([
  ['missing', 'missing'], ['always', 'always'], ['never', 'never'],
  // docker build's boolean --pull / --pull=true|false
  ['true', 'always'], ['false', 'missing'],
]);

/** --pull as buildx takes it: a mode, a boolean, or bare (= always). */
export function parsePullMode(v: string | boolean | undefined): 'missing' | 'always' | 'never' {
  if (v === undefined || v === false) return 'missing';
  if (v === true) return 'always';
  const m = PULL_MODES.get(v.toLowerCase());
  if (m === undefined) throw new KilnError('USAGE', `invalid --pull ${JSON.stringify(v)}: use missing, always or never (a bare --pull means always)`);
  return m;
}

/**
 * `docker build --pull .` is a boolean flag followed by the context; commander would take the
 * context as --pull's value. A bare --pull whose next word is not a pull mode becomes --pull=always.
 */
export function normalizePullFlag(argv: readonly string[]): string[] {
  const out = [...argv];
  for (let i = 0; i < out.length; i++) {
    if (out[i] === '--') break;
    if (out[i] !== '--pull') continue;
    const next = out[i + 1];
    if (next === undefined || !PULL_MODES.has(next.toLowerCase())) out[i] = '--pull=always';
  }
  return out;
}
