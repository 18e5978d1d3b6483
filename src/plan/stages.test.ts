// Stage graph: target selection, pruning, COPY --from / mount from=, FROM <stage>, cycles, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError, formatError } from '../errors.js';
import { ARM64, FakeResolver, envOf, plan, request, runs, stageOf } from './test-support.js';
import { planBuild } from './plan.js';
import type { CopyStep } from './types.js';

async function fails(text: string, o: Parameters<typeof plan>[1] = {}): Promise<KilnError> {
  try {
    await plan(text, o);
  } catch (e) {
    assert.ok(e instanceof KilnError, String(e));
    return e;
  }
  assert.fail('expected planBuild to fail');
}

const MULTI = `FROM golang:1.22 AS build
RUN go build
FROM node:20 AS unused
RUN npm ci
FROM alpine:3.20 AS final
COPY --from=build /out /app
`;

test('default target is the last stage; unreachable stages are pruned and their bases never resolved', async () => {
  const { plan: p, resolver } = await plan(MULTI);
  assert.equal(p.target, 2);
  assert.deepEqual(p.stages.map((s) => s.index), [0, 2]);
  assert.deepEqual(p.pruned, [1]);
  assert.deepEqual(resolver.refs(), ['alpine:3.20', 'golang:1.22']);
  assert.deepEqual(stageOf(p).dependsOn, [0]);
  assert.deepEqual(stageOf(p).base.kind, 'image');
});

test('--target is case-insensitive; unknown target suggests the closest name', async () => {
  const { plan: p, resolver } = await plan(MULTI, { target: 'UNUSED' });
  assert.equal(p.target, 1);
  assert.deepEqual(p.pruned, [0, 2]);
  assert.deepEqual(resolver.refs(), ['node:20']);
  const e = await fails(MULTI, { target: 'buidl' });
  assert.equal(e.code, 'TARGET_NOT_FOUND');
  assert.equal(e.message, 'target stage "buidl" could not be found');
  assert.equal(e.details.hint, 'did you mean build?');
  assert.equal(e.location, undefined);
});

test('resolver gets FROM --platform (expanded with meta args) else the target platform', async () => {
  const { resolver } = await plan(`ARG P=linux/arm64
FROM --platform=$P busybox AS a
FROM --platform=$BUILDPLATFORM golang AS b
FROM alpine
COPY --from=a /x /x
COPY --from=b /y /y
COPY --from=nginx:1 /etc/nginx /etc/nginx
`, { targetPlatform: { os: 'linux', architecture: 'riscv64' } });
  const by = new Map(resolver.calls.map((c) => [c.ref, c.platform]));
  assert.deepEqual(by.get('busybox'), ARM64);
  assert.deepEqual(by.get('golang'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(by.get('alpine'), { os: 'linux', architecture: 'riscv64' });
  assert.deepEqual(by.get('nginx:1'), { os: 'linux', architecture: 'riscv64' });
});

test('same image in several places is resolved once (per platform)', async () => {
  const { resolver } = await plan(`FROM alpine AS a
FROM alpine
COPY --from=a /x /x
COPY --from=alpine /y /y
`);
  assert.deepEqual(resolver.refs(), ['alpine']);
});

test('COPY --from by name (any case), by index, by image', async () => {
  const { plan: p } = await plan(`FROM scratch AS Builder
FROM scratch
COPY --from=BUILDER /a /a
COPY --from=0 /b /b
COPY --from=busybox:1.36 /bin/busybox /bin/
`);
  const steps = stageOf(p).steps as CopyStep[];
  assert.deepEqual(steps[0]!.from, { kind: 'stage', stage: 0 });
  assert.deepEqual(steps[1]!.from, { kind: 'stage', stage: 0 });
  assert.equal(steps[2]!.from.kind, 'image');
  assert.equal(steps[2]!.from.kind === 'image' && steps[2]!.from.image.ref, 'docker.io/library/busybox:1.36');
  assert.deepEqual(steps[2]!.dest, '/bin/');
});

test('COPY --from a later stage, an out-of-range index, or with a variable fails like BuildKit', async () => {
  const later = await fails(`FROM scratch AS a
COPY --from=b /x /x
FROM scratch AS b
FROM scratch AS c
COPY --from=a /y /y
`);
  assert.equal(later.message, 'cannot copy from stage "b", it needs to be defined before current stage "a"');
  assert.deepEqual(later.location?.[0], { file: 'Dockerfile', startLine: 2, endLine: 2 });
  assert.equal(later.details.stage, 'a');
  assert.ok(later.details.sourceLines);
  assert.match(formatError(later), />>> COPY --from=b \/x \/x/);
  const idx = await fails(`FROM scratch
COPY --from=3 /x /x
`);
  assert.equal(idx.message, 'invalid stage index 3');
  assert.equal(idx.location?.[0]?.startLine, 2);
  const esc = await fails(`FROM scratch
COPY --from=x$1 /x /x
`);
  assert.equal(esc.message, 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
});

test('self reference and cycles → STAGE_CYCLE with the COPY locations', async () => {
  const self = await fails(`FROM scratch AS a
FROM scratch AS b
COPY --from=b /x /x
`);
  assert.equal(self.code, 'STAGE_CYCLE');
  assert.equal(self.message, 'circular dependency detected on stage: b');
  assert.equal(self.location?.[0]?.startLine, 3);
  const cyc = await fails(`FROM scratch AS a
COPY --from=b /x /x
FROM scratch AS b
COPY --from=a /y /y
`);
  assert.equal(cyc.code, 'STAGE_CYCLE');
  assert.equal(cyc.message, 'circular dependency detected on stage: a');
  // the COPY that closes the cycle first, as Docker 26 reports it (test/conformance err-copy-from-circular)
  assert.deepEqual(cyc.location?.map((l) => l.startLine), [4, 2]);
  // three stages, entered from one outside the cycle: every COPY on the cycle, the closing one first
  const three = await fails(`FROM scratch AS x
COPY --from=a /x /x
FROM scratch AS a
COPY --from=b /x /x
FROM scratch AS b
COPY --from=c /x /x
FROM scratch AS c
COPY --from=a /x /x
`);
  // named after the stage the cycle comes back to (BuildKit names x, where its walk started)
  assert.equal(three.message, 'circular dependency detected on stage: a');
  assert.deepEqual(three.location?.map((l) => l.startLine), [8, 6, 4, 2]);
  assert.equal(three.details.stage, 'c');
  assert.match(three.details.hint ?? '', /^stage a copies or mounts from b, b from c, c from a: /);
});

test('a cycle error names its stages: the stage detail is the one holding the line shown first', async () => {
  const self = await fails(`FROM scratch AS a
FROM scratch AS b
COPY --from=b /x /x
`);
  assert.equal(self.details.stage, 'b');
  assert.match(self.details.hint ?? '', /^stage b copies or mounts from itself: /);
  const cyc = await fails(`FROM scratch AS a
COPY --from=b /x /x
FROM scratch AS b
COPY --from=a /y /y
`);
  assert.equal(cyc.location?.[0]?.startLine, 4);
  assert.equal(cyc.details.stage, 'b');
  assert.equal(cyc.details.hint, 'stage a copies or mounts from b, b from a: a stage cannot copy or mount from itself or from a stage that depends on it');
  assert.match(formatError(cyc), /ERROR: Dockerfile:4: circular dependency detected on stage: a\nstage: b\n/);
});

test('a single stage that copies or mounts from itself names itself (not a blank name)', async () => {
  for (const [line, name] of [
    ['FROM busybox AS a\nCOPY --from=a /x /y\n', 'a'],
    ['FROM busybox AS a\nRUN --mount=from=a,target=/m true\n', 'a'],
    ['FROM busybox\nCOPY --from=0 /x /y\n', 'stage-0'],
    ['FROM busybox AS a\nCOPY --from=0 /x /y\n', 'a'],
  ] as const) {
    const e = await fails(line);
    assert.equal(e.code, 'STAGE_CYCLE', line);
    assert.equal(e.message, `circular dependency detected on stage: ${name}`, line);
    assert.equal(e.details.stage, name);
    assert.deepEqual(e.location?.map((l) => l.startLine), [2]);
  }
});

test('a chain of 5,000 stages, each FROM the one before or copying from it, plans (no stack overflow)', async () => {
  const from = ['FROM scratch AS s0', ...Array.from({ length: 4999 }, (_, i) => `FROM s${i} AS s${i + 1}`)].join('\n');
  const { plan: p1 } = await plan(`${from}\n`);
  assert.equal(p1.stages.length, 5000);
  const copy = ['FROM scratch AS s0', ...Array.from({ length: 4999 }, (_, i) => `FROM scratch AS s${i + 1}\nCOPY --from=s${i} /x /x`)].join('\n');
  const { plan: p2 } = await plan(`${copy}\n`);
  assert.equal(p2.stages.length, 5000);
  await assert.rejects(plan(`${copy}\nCOPY --from=s4999 /y /y\n`), (e: KilnError) => e.code === 'STAGE_CYCLE' && e.location?.length === 1);
});

test('FROM <stage> inherits config, env, workdir, user and history; FROM name is matched exactly', async () => {
  const { plan: p, resolver } = await plan(`FROM node:20 AS base
ENV APP=/srv NODE_ENV=production
WORKDIR /srv
USER node
EXPOSE 3000
CMD ["node"]
FROM base
RUN id
`, { images: { 'node:20': { config: { Env: ['PATH=/usr/local/bin:/usr/bin', 'NODE_VERSION=20.1.0'], Cmd: ['node'] }, history: [{ created: '2024-01-01T00:00:00Z', created_by: 'base layer' }] } } });
  assert.deepEqual(resolver.refs(), ['node:20']);
  const s = stageOf(p);
  assert.deepEqual(s.base, { kind: 'stage', stage: 0 });
  assert.deepEqual(s.dependsOn, [0]);
  const cfg = s.config.config!;
  assert.deepEqual(cfg.Env, ['PATH=/usr/local/bin:/usr/bin', 'NODE_VERSION=20.1.0', 'APP=/srv', 'NODE_ENV=production']);
  assert.equal(cfg.WorkingDir, '/srv');
  assert.equal(cfg.User, 'node');
  assert.deepEqual(cfg.ExposedPorts, { '3000/tcp': {} });
  const r = runs(s)[0]!;
  assert.equal(r.cwd, '/srv');
  assert.equal(r.user, 'node');
  assert.equal(envOf(r).get('NODE_ENV'), 'production');
  // config.history = base image history + stage 0's + this stage's; created dropped
  const hist = s.config.history!.map((h) => h.created_by);
  assert.deepEqual(hist, ['base layer', 'ENV APP=/srv NODE_ENV=production', 'WORKDIR /srv', 'USER node', 'EXPOSE map[3000/tcp:{}]', 'CMD ["node"]', 'RUN /bin/sh -c id # buildkit']);
  assert.equal(s.config.history![0]!.created, undefined);
  assert.equal(s.history.length, 1);
  assert.equal(s.history[0]!.step, 0);
});

test('FROM with a blank base errors with the location; upper-case stage reference gets a hint', async () => {
  const blank = await fails(`ARG B
FROM $B
`);
  assert.equal(blank.message, 'base name ($B) should not be blank');
  assert.equal(blank.location?.[0]?.startLine, 2);
  const upper = await fails(`FROM scratch AS build
FROM Build
`);
  assert.equal(upper.code, 'STAGE_NOT_FOUND');
  assert.match(upper.details.hint ?? '', /FROM build/);
});

test('RUN --mount from= a stage / image, cache and tmpfs defaults, targets relative to WORKDIR', async () => {
  const { plan: p, resolver } = await plan(`FROM scratch AS deps
FROM scratch
WORKDIR /app
RUN --mount=type=bind,from=deps,source=/node_modules,target=node_modules \\
    --mount=type=cache,target=/root/.npm \\
    --mount=type=cache,target=cache,id=mine,sharing=locked \\
    --mount=type=tmpfs,target=/tmp,size=64m \\
    --mount=from=golang:1.22,target=/go \\
    --mount=target=ctx \\
    --mount=type=secret,id=npmrc \\
    --mount=type=ssh \\
    npm ci
`);
  assert.ok(resolver.refs().includes('golang:1.22'));
  const m = runs(stageOf(p))[0]!.mounts;
  assert.deepEqual(m[0], { type: 'bind', target: '/app/node_modules', readOnly: true, required: false, from: { kind: 'stage', stage: 0 }, source: '/node_modules' });
  assert.deepEqual(m[1], { type: 'cache', target: '/root/.npm', readOnly: false, required: false, id: '/root/.npm', sharing: 'shared' });
  assert.deepEqual(m[2], { type: 'cache', target: '/app/cache', readOnly: false, required: false, id: 'mine', sharing: 'locked' });
  assert.deepEqual(m[3], { type: 'tmpfs', target: '/tmp', readOnly: false, required: false, size: 64 * 1024 * 1024 });
  assert.equal(m[4]!.from?.kind, 'image');
  assert.deepEqual(m[5], { type: 'bind', target: '/app/ctx', readOnly: true, required: false, from: { kind: 'context' } });
  assert.deepEqual(m[6], { type: 'secret', target: '/run/secrets/npmrc', id: 'npmrc', readOnly: true, required: false, mode: 0o400, uid: 0, gid: 0 });
  assert.deepEqual(m[7], { type: 'ssh', target: '/run/buildkit/ssh_agent.0', id: 'default', readOnly: true, required: false, mode: 0o600, uid: 0, gid: 0 });
  assert.deepEqual(stageOf(p).dependsOn, [0]);
});

test('ONBUILD triggers of a base image run first (and can add dependencies); OnBuild cleared', async () => {
  const { plan: p, resolver } = await plan(`FROM scratch AS assets
FROM onbuild-base
RUN final
`, { images: { 'onbuild-base': { config: { OnBuild: ['COPY --from=assets /a /a', 'RUN echo triggered', 'COPY --from=helper:1 /h /h'] } } } });
  assert.deepEqual(resolver.refs(), ['helper:1', 'onbuild-base']);
  const s = stageOf(p);
  assert.deepEqual(s.steps.map((x) => x.kind), ['copy', 'run', 'copy', 'run']);
  assert.deepEqual(s.dependsOn, [0]);
  assert.equal(s.steps[0]!.location.startLine, 2);
  assert.equal(s.steps[1]!.display, 'ONBUILD RUN echo triggered');
  assert.equal(s.steps[3]!.display, 'RUN final');
  assert.equal(s.config.config!.OnBuild, undefined);
  assert.deepEqual(p.pruned, []);
});

test('ONBUILD in a stage is recorded, not run; a child stage runs it', async () => {
  const { plan: p } = await plan(`FROM scratch AS base
ONBUILD RUN echo child
RUN echo base
FROM base
RUN echo mine
`);
  const base = stageOf(p, 0);
  assert.deepEqual(runs(base).map((r) => r.argv.at(-1)), ['echo base']);
  assert.deepEqual(base.config.config!.OnBuild, ['RUN echo child']);
  const child = stageOf(p, 1);
  assert.deepEqual(runs(child).map((r) => r.argv.at(-1)), ['echo child', 'echo mine']);
  assert.equal(child.config.config!.OnBuild, undefined);
});

test('resolver errors carry the FROM location and stage; abort stops planning', async () => {
  const req = request(`FROM scratch
FROM missing:1 AS app
`);
  const failing = async (): Promise<never> => {
    throw new KilnError('IMAGE_NOT_FOUND', 'manifest unknown');
  };
  await assert.rejects(planBuild(req, failing), (e: KilnError) => e.code === 'IMAGE_NOT_FOUND' && e.location?.[0]?.startLine === 2 && e.details.stage === 'app');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(planBuild(req, new FakeResolver().resolve, ac.signal), (e: KilnError) => e.code === 'ABORTED');
});

test('base images of reachable stages are resolved concurrently', async () => {
  let inFlight = 0;
  let most = 0;
  const release: (() => void)[] = [];
  const base = new FakeResolver();
  const resolve: typeof base.resolve = async (ref, platform, signal) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise<void>((r) => {
      release.push(r);
      if (release.length === 3) for (const f of release) f();
    });
    inFlight--;
    return base.resolve(ref, platform, signal);
  };
  const req = request(`FROM a:1 AS a
FROM b:1 AS b
FROM c:1
COPY --from=a /x /x
COPY --from=b /y /y
`);
  const p = await planBuild(req, resolve);
  assert.equal(most, 3);
  assert.deepEqual(p.pruned, []);
});

test('expansion errors point at their instruction (meta ARG, FROM, stage instruction)', async () => {
  const meta = await fails('ARG A=${B:?need B}\nFROM scratch\n');
  assert.equal(meta.code, 'ARG_EXPANSION');
  assert.equal(meta.location?.[0]?.startLine, 1);
  const inStage = await fails('FROM scratch AS s\nENV X=1\nWORKDIR ${X:?}${Y:?Y is required}\n');
  assert.equal(inStage.code, 'ARG_EXPANSION');
  assert.match(inStage.message, /Y is required/);
  assert.equal(inStage.location?.[0]?.startLine, 3);
  assert.equal(inStage.details.stage, 's');
  const plat = await fails('FROM --platform=$NOPE alpine\n');
  assert.equal(plat.message, 'empty platform value from expression $NOPE');
  const badPlat = await fails('FROM --platform=linux/arm64/v8/x alpine\n');
  assert.equal(badPlat.code, 'PLATFORM_INVALID');
  assert.equal(badPlat.location?.[0]?.startLine, 1);
});

test('an image reference that does not parse fails at planning (REFERENCE_INVALID at its line), never reaching the resolver', async () => {
  const resolver = new FakeResolver();
  const cases = [
    ['FROM busybox:::\n', 1, 'FROM', undefined],
    ['ARG B=busybox:::\nFROM $B\n', 2, 'FROM', undefined],
    ['FROM busybox\nCOPY --from=busybox::: /x /y\n', 2, '--from', 'stage-0'],
    ['FROM busybox AS a\nRUN --mount=from=busybox:::,target=/m true\n', 2, 'from=', 'a'],
    ['FROM busybox AS a\nRUN --mount=type=cache,from=Busybox,target=/m true\n', 2, 'from=', 'a'],
    // BuildKit parses the base of every stage, reachable or not
    ['FROM busybox::: AS unused\nFROM busybox\n', 1, 'FROM', 'unused'],
  ] as const;
  for (const [text, line, where, stage] of cases) {
    let e: unknown;
    try {
      await planBuild(request(text), resolver.resolve);
    } catch (x) {
      e = x;
    }
    assert.ok(e instanceof KilnError, text);
    assert.equal(e.code, 'REFERENCE_INVALID', text);
    assert.match(e.message, /^failed to parse stage name "(busybox:::|Busybox)": invalid reference format/, text);
    assert.deepEqual(e.location?.map((l) => l.startLine), [line], text);
    assert.match(e.details.hint ?? '', /\[registry\[:port\]\/\]name\[:tag\]/);
    if (where !== 'FROM') assert.match(e.details.hint ?? '', new RegExp(`^${where} takes a stage name`));
    if (stage !== undefined) assert.equal(e.details.stage, stage, text);
    assert.match(formatError(e), new RegExp(`ERROR: Dockerfile:${line}: failed to parse stage name`));
  }
  assert.deepEqual(resolver.calls, []);
  const from = await fails('FROM busybox:::\n');
  assert.equal(from.message, 'failed to parse stage name "busybox:::": invalid reference format: not a valid image reference');
  assert.equal(from.details.stage, 'stage-0');
  // valid references still go to the resolver as written
  const { resolver: ok } = await plan('FROM localhost:5000/a/b:1@sha256:' + 'a'.repeat(64) + '\nCOPY --from=docker.io/library/busybox:1 /x /y\n');
  assert.deepEqual(ok.refs(), ['docker.io/library/busybox:1', `localhost:5000/a/b:1@sha256:${'a'.repeat(64)}`]);
});
