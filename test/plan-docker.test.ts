// Differential test: planBuild's history and image config against what Docker 26's built-in
// BuildKit writes for the same Dockerfile (a private dockerd, busybox loaded without a registry).
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
import { planBuild } from '../src/plan/index.js';
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

test('plan matches Docker 26 BuildKit: history created_by/empty_layer and the image config', { timeout: 300_000 }, async (t) => {
  if (!needDockerd(t)) return;
  const img = needBaseImage(t, 'busybox', 'latest');
  if (!img) return;
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-plan-docker-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const ctx = join(tmp, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(ctx, 'f.txt'), 'hi\n');

  const d = await startDockerd();
  let config: { author?: string; config: ContainerConfig; history: History[] };
  let envLines: string[];
  try {
    await dockerLoad(d, [img], tmp, () => 'kiln-test/busybox:latest');
    const b = await d.docker(['build', '--network', 'host', '--progress=plain', '-t', 'kiln-plan-oracle:1', ctx]);
    assert.equal(b.code, 0, b.stderr.slice(-4000));
    await d.dockerOk(['save', '-o', join(tmp, 'save.tar'), 'kiln-plan-oracle:1']);
    mkdirSync(join(tmp, 'save'));
    const x = spawnSync('tar', ['-xf', join(tmp, 'save.tar'), '-C', join(tmp, 'save')], { encoding: 'utf8' });
    assert.equal(x.status, 0, x.stderr);
    const manifest = JSON.parse(readFileSync(join(tmp, 'save', 'manifest.json'), 'utf8')) as { Config: string }[];
    config = JSON.parse(readFileSync(join(tmp, 'save', manifest[0]!.Config), 'utf8')) as typeof config;
    writeFileSync(join(ctx, 'Dockerfile'), ENV_DOCKERFILE);
    const e = await d.docker(['build', '--network', 'host', '--progress=plain', '--no-cache', '--build-arg', 'HTTP_PROXY=http://127.0.0.1:9', '--build-arg', 'no_proxy=localhost', '-t', 'kiln-plan-env:1', ctx]);
    assert.equal(e.code, 0, e.stderr.slice(-4000));
    // exec form: env prints its environ in order (a shell would reorder it); the log shows it
    envLines = [...e.stderr.matchAll(/^#\d+ \d+\.\d+ ([A-Za-z_][A-Za-z0-9_]*=.*)$/gm)].map((m) => m[1]!);
  } finally {
    await d.stop();
  }

  const resolve = async (ref: string, platform: { os: string; architecture: string }) => {
    resolved.push(ref);
    return {
      ref,
      digest: `sha256:${'0'.repeat(64)}` as Digest,
      config: {
        architecture: platform.architecture,
        os: platform.os,
        config: img.config as ContainerConfig,
        rootfs: { type: 'layers' as const, diff_ids: [] },
        ...(img.history ? { history: [...img.history] as History[] } : {}),
      },
    };
  };
  const resolved: string[] = [];
  const envAst = parse(ENV_DOCKERFILE);
  const envPlan = await planBuild(
    {
      stages: toStages(envAst),
      buildArgs: new Map([['HTTP_PROXY', 'http://127.0.0.1:9'], ['no_proxy', 'localhost']]),
      targetPlatform: { os: 'linux', architecture: 'amd64' },
      buildPlatform: { os: 'linux', architecture: 'amd64' },
    },
    resolve,
  );
  const run = envPlan.stages[1]!.steps[0]!;
  assert.equal(run.kind, 'run');
  // the runtime adds a few of its own (HOME, HOSTNAME); the rest, in order, is the plan's
  const shellOwn = /^(HOME|HOSTNAME)=/;
  assert.deepEqual(envLines.filter((l) => !shellOwn.test(l)), run.kind === 'run' ? run.env : []);
  resolved.length = 0;

  const ast = parse(DOCKERFILE);
  const plan = await planBuild(
    {
      stages: toStages(ast),
      buildArgs: new Map(),
      targetPlatform: { os: 'linux', architecture: 'amd64' },
      buildPlatform: { os: 'linux', architecture: 'amd64' },
      sourceLines: ast.lines,
      file: ast.file,
      escapeToken: ast.directives.escape,
    },
    resolve,
  );
  assert.deepEqual(resolved, ['kiln-test/busybox:latest']);
  assert.deepEqual(plan.pruned, [1]);
  const target = plan.stages.find((s) => s.index === plan.target)!;
  const ours = target.config;
  const theirs = config;
  const hist = (h: readonly History[]): string[] => h.map((e) => `${e.empty_layer ? 'empty' : 'layer'} ${e.created_by ?? ''}`);
  assert.deepEqual(hist(ours.history!), hist(theirs.history));
  // every layer this stage adds has its step; the layer count matches Docker's
  assert.equal(target.history.filter((h) => h.step !== undefined).length, target.steps.length);
  assert.equal(ours.history!.filter((h) => !h.empty_layer).length, theirs.history.filter((h) => !h.empty_layer).length);
  const pick = (c: ContainerConfig): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const k of ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'Healthcheck', 'Shell'] as const) {
      const v = c[k];
      if (v !== undefined && v !== null) out[k] = v;
    }
    if (c.OnBuild && c.OnBuild.length > 0) out['OnBuild'] = c.OnBuild;
    return out;
  };
  assert.deepEqual(pick(ours.config!), pick(theirs.config));
  assert.equal(ours.author, theirs.author);
});
