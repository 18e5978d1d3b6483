// Differential test: planBuild's history, image config and RUN env against what Docker 26's
// built-in BuildKit writes for the same Dockerfiles (a private dockerd, busybox loaded without a
// registry; an image with ONBUILD triggers built there too).
// The Dockerfile avoids what changed between that BuildKit (v0.13) and the one plan/ follows
// (EXPOSE/HEALTHCHECK history formats, ARG history values, build args inherited via FROM <stage>).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, toStages } from '../src/dockerfile/index.js';
import type { ContainerConfig, Digest, History } from '../src/image/index.js';
import { planBuild, type ResolveImage } from '../src/plan/index.js';
import { dockerLoad, needBaseImage } from './helpers/base-images.js';
import { needDockerd, startDockerd } from './helpers/dockerd.js';

const DOCKERFILE = `ARG BASE=kiln-test/busybox:latest
FROM \${BASE} AS base
ENV FOO=bar PATHX=/x
WORKDIR app
COPY f.txt ./
RUN echo "$FOO" > /out.txt
ONBUILD RUN echo onbuild
LABEL l1=v1 "l 2"="v 2"
FROM scratch AS unused
COPY --from=nothing-here:1 / /
FROM base AS final
ARG C=3
ARG D
USER nobody
WORKDIR /srv/
WORKDIR ..
WORKDIR /
COPY --from=base /out.txt ../data/
COPY --chmod=0644 f.txt g/
RUN ["echo", "exec form"]
SHELL ["/bin/sh", "-ec"]
ENV C=env
RUN echo shell $C
VOLUME /data
STOPSIGNAL SIGQUIT
CMD ["serve"]
ENTRYPOINT ["/entry"]
MAINTAINER me
RUN <<EOF
echo heredoc
EOF
RUN <<EOF
#!/bin/sh
echo shebang
EOF
`;

// The build env of a RUN (ARGs, ENVs, inherited stage env, proxy build args) in BuildKit's order.
const ENV_DOCKERFILE = `FROM kiln-test/busybox:latest AS base
ARG X=1
ENV Y=2 FOO=a
FROM base
ARG Z=3
ENV FOO=b
ARG X=4
RUN ["env"]
`;

// A base image with ONBUILD triggers (built by docker), and a stage built on it.
const ONBUILD_BASE = `FROM kiln-test/busybox:latest
LABEL from=base
ONBUILD ENV T=1
ONBUILD RUN echo "trigger $T" > /t
ONBUILD WORKDIR /w
`;
const ONBUILD_CHILD = `FROM kiln-onbuild-base:1
RUN cat /t
ENTRYPOINT ["/bin/cat"]
`;

type SavedConfig = { author?: string; config: ContainerConfig; history: History[] };

const PLATFORM = { os: 'linux', architecture: 'amd64' };

function pick(c: ContainerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'Shell'] as const) {
    const v = c[k];
    if (v !== undefined && v !== null) out[k] = v;
  }
  if (c.OnBuild && c.OnBuild.length > 0) out['OnBuild'] = c.OnBuild;
  return out;
}

const hist = (h: readonly History[]): string[] => h.map((e) => `${e.empty_layer ? 'empty' : 'layer'} ${e.created_by ?? ''}`);

test('plan matches Docker 26 BuildKit: history, image config, RUN env, ONBUILD from an image', { timeout: 300_000 }, async (t) => {
  if (!needDockerd(t)) return;
  const img = needBaseImage(t, 'busybox', 'latest');
  if (!img) return;
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-plan-docker-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const ctx = join(tmp, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'f.txt'), 'hi\n');

  const d = await startDockerd();
  const build = async (dockerfile: string, tag: string, extra: readonly string[] = []): Promise<string> => {
    writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
    const r = await d.docker(['build', '--network', 'host', '--progress=plain', '--no-cache', ...extra, '-t', tag, ctx]);
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    return r.stderr;
  };
  const saved = async (tag: string): Promise<SavedConfig> => {
    const dir = mkdtempSync(join(tmp, 'save-'));
    await d.dockerOk(['save', '-o', join(dir, 'image.tar'), tag]);
    const x = spawnSync('tar', ['-xf', join(dir, 'image.tar'), '-C', dir], { encoding: 'utf8' });
    assert.equal(x.status, 0, x.stderr);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Config: string }[];
    return JSON.parse(readFileSync(join(dir, manifest[0]!.Config), 'utf8')) as SavedConfig;
  };
  let main: SavedConfig;
  let onbuildBase: SavedConfig;
  let onbuildChild: SavedConfig;
  let envLines: string[];
  try {
    await dockerLoad(d, [img], tmp, () => 'kiln-test/busybox:latest');
    await build(DOCKERFILE, 'kiln-plan-oracle:1');
    main = await saved('kiln-plan-oracle:1');
    const log = await build(ENV_DOCKERFILE, 'kiln-plan-env:1', ['--build-arg', 'HTTP_PROXY=http://127.0.0.1:9', '--build-arg', 'no_proxy=localhost']);
    // exec form: env prints its environ in order (a shell would reorder it); the log shows it
    envLines = [...log.matchAll(/^#\d+ \d+\.\d+ ([A-Za-z_][A-Za-z0-9_]*=.*)$/gm)].map((m) => m[1]!);
    await build(ONBUILD_BASE, 'kiln-onbuild-base:1');
    onbuildBase = await saved('kiln-onbuild-base:1');
    await build(ONBUILD_CHILD, 'kiln-onbuild-child:1');
    onbuildChild = await saved('kiln-onbuild-child:1');
  } finally {
    await d.stop();
  }

  const resolved: string[] = [];
  const images: Record<string, { config: ContainerConfig; history: History[] }> = {
    'kiln-test/busybox:latest': { config: img.config as ContainerConfig, history: [...(img.history ?? [])] as History[] },
    'kiln-onbuild-base:1': { config: onbuildBase.config, history: onbuildBase.history },
  };
  const resolve: ResolveImage = async (ref, platform) => {
    resolved.push(ref);
    const i = images[ref];
    assert.ok(i, `unexpected image ${ref}`);
    return {
      ref,
      digest: `sha256:${'0'.repeat(64)}` as Digest,
      config: { architecture: platform.architecture, os: platform.os, config: i.config, rootfs: { type: 'layers', diff_ids: [] }, history: i.history },
    };
  };
  const planOf = async (text: string, buildArgs: [string, string][] = []) => {
    const ast = parse(text);
    return planBuild(
      { stages: toStages(ast), buildArgs: new Map(buildArgs), targetPlatform: PLATFORM, buildPlatform: PLATFORM, sourceLines: ast.lines, file: ast.file, escapeToken: ast.directives.escape },
      resolve,
    );
  };

  // 1. the many-instruction Dockerfile: history (created_by + empty_layer), config, author
  const plan = await planOf(DOCKERFILE);
  assert.deepEqual(resolved, ['kiln-test/busybox:latest']);
  assert.deepEqual(plan.pruned, [1]);
  const target = plan.stages.find((s) => s.index === plan.target)!;
  assert.deepEqual(hist(target.config.history!), hist(main.history));
  assert.equal(target.history.filter((h) => h.step !== undefined).length, target.steps.length);
  assert.deepEqual(pick(target.config.config!), pick(main.config));
  assert.equal(target.config.author, main.author);

  // 2. RUN env: the runtime adds a few of its own (HOME, HOSTNAME); the rest, in order, is the plan's
  const envPlan = await planOf(ENV_DOCKERFILE, [['HTTP_PROXY', 'http://127.0.0.1:9'], ['no_proxy', 'localhost']]);
  const run = envPlan.stages[1]!.steps[0]!;
  assert.ok(run.kind === 'run');
  assert.deepEqual(envLines.filter((l) => !/^(HOME|HOSTNAME)=/.test(l)), run.env);

  // 3. ONBUILD: the base image's config keeps its triggers; the child runs them first and clears them
  const basePlan = await planOf(ONBUILD_BASE);
  assert.deepEqual(pick(basePlan.stages[0]!.config.config!), pick(onbuildBase.config));
  assert.deepEqual(hist(basePlan.stages[0]!.config.history!), hist(onbuildBase.history));
  const childPlan = await planOf(ONBUILD_CHILD);
  const child = childPlan.stages[0]!;
  assert.deepEqual(hist(child.config.history!), hist(onbuildChild.history));
  assert.deepEqual(pick(child.config.config!), pick(onbuildChild.config));
  assert.deepEqual(child.steps.map((s) => s.display), ['ONBUILD RUN echo "trigger 1" > /t', 'ONBUILD WORKDIR /w', 'RUN cat /t']);
});
