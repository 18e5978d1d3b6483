// ARG/ENV scoping as BuildKit does it: meta args, stage args, build-args, platform args, proxies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARM64, AMD64, createdBy, envOf, plan, runs, stageOf } from './test-support.js';
import { defaultArgs, proxyEnv, unusedBuildArgsWarning } from './args.js';

test('meta ARG expands FROM; not visible in the stage unless redeclared', async () => {
  const { plan: p, resolver } = await plan(`ARG BASE=alpine
ARG TAG=3.20
FROM \${BASE}:\${TAG}
RUN echo $BASE
`);
  assert.deepEqual(resolver.refs(), ['alpine:3.20']);
  const env = envOf(runs(stageOf(p))[0]!);
  assert.equal(env.has('BASE'), false);
  assert.equal(env.has('TAG'), false);
});

test('meta ARG default uses earlier meta args and platform args; --build-arg overrides', async () => {
  const text = `ARG A=one
ARG B=\${A}-$TARGETARCH
FROM img:\${B}
`;
  const r1 = await plan(text);
  assert.deepEqual(r1.resolver.refs(), ['img:one-amd64']);
  const r2 = await plan(text, { buildArgs: { A: 'two' } });
  assert.deepEqual(r2.resolver.refs(), ['img:two-amd64']);
  const r3 = await plan(text, { buildArgs: { B: 'pinned' } });
  assert.deepEqual(r3.resolver.refs(), ['img:pinned']);
  const r4 = await plan(text, { targetPlatform: ARM64 });
  assert.deepEqual(r4.resolver.refs(), ['img:one-arm64']);
});

test('redeclared ARG without default takes the global (meta) value; with a default keeps its own', async () => {
  const { plan: p } = await plan(`ARG V=global
FROM scratch
ARG V
RUN echo a
FROM scratch
ARG V=local
RUN echo b
COPY --from=0 /x /x
`);
  const s1 = stageOf(p, 0);
  const s2 = stageOf(p, 1);
  assert.equal(envOf(runs(s1)[0]!).get('V'), 'global');
  assert.equal(envOf(runs(s2)[0]!).get('V'), 'local');
});

test('--build-arg overrides declared defaults (stage and meta)', async () => {
  const { plan: p } = await plan(`ARG V=global
FROM scratch
ARG V
ARG W=default
RUN echo
`, { buildArgs: { V: 'cli', W: 'cli-w' } });
  const env = envOf(runs(stageOf(p))[0]!);
  assert.equal(env.get('V'), 'cli');
  assert.equal(env.get('W'), 'cli-w');
});

test('ENV overrides ARG; ARG after ENV does not replace the ENV value in the env lookup order', async () => {
  const { plan: p } = await plan(`FROM scratch
ARG X=arg
ENV X=env
RUN echo 1
ARG Y=arg
ENV Y=env2
ARG Y=later
RUN echo 2
`);
  const [r1, r2] = runs(stageOf(p));
  assert.equal(envOf(r1!).get('X'), 'env');
  // ARG after ENV sets the build env value again (BuildKit: state.AddEnv), config Env keeps ENV.
  assert.equal(envOf(r2!).get('Y'), 'later');
  const cfg = stageOf(p).config.config!;
  assert.ok(cfg.Env!.includes('X=env'));
  assert.ok(cfg.Env!.includes('Y=env2'));
  // history shows the env value for ARGs in scope
  assert.equal(r1!.createdBy, 'RUN |1 X=env /bin/sh -c echo 1 # buildkit');
});

test('ARG values reach RUN env but not the image config Env', async () => {
  const { plan: p } = await plan(`FROM scratch
ARG SECRETISH=1
RUN true
`);
  const s = stageOf(p);
  assert.equal(envOf(runs(s)[0]!).get('SECRETISH'), '1');
  assert.deepEqual(s.config.config!.Env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
  assert.deepEqual(runs(s)[0]!.buildArgs, ['SECRETISH=1']);
});

test('automatic platform args only inside a stage when declared', async () => {
  const { plan: p } = await plan(`FROM scratch
RUN echo $TARGETARCH
ARG TARGETARCH
ARG BUILDPLATFORM
ARG TARGETPLATFORM
ARG TARGETSTAGE
RUN echo $TARGETARCH
`, { targetPlatform: ARM64, buildPlatform: AMD64 });
  const [r1, r2] = runs(stageOf(p));
  assert.equal(envOf(r1!).has('TARGETARCH'), false);
  const env = envOf(r2!);
  assert.equal(env.get('TARGETARCH'), 'arm64');
  assert.equal(env.get('BUILDPLATFORM'), 'linux/amd64');
  assert.equal(env.get('TARGETPLATFORM'), 'linux/arm64/v8');
  assert.equal(env.get('TARGETSTAGE'), 'default');
});

test('TARGETSTAGE is the requested target name', async () => {
  const { plan: p } = await plan(`FROM scratch AS Build
ARG TARGETSTAGE
RUN x
FROM scratch
`, { target: 'build' });
  assert.equal(envOf(runs(stageOf(p))[0]!).get('TARGETSTAGE'), 'build');
});

test('proxy build args reach RUN env undeclared, stay out of history and of the warning', async () => {
  const { plan: p } = await plan(`FROM scratch
RUN curl x
`, { buildArgs: { HTTP_PROXY: 'http://p:3128', no_proxy: 'localhost' } });
  const r = runs(stageOf(p))[0]!;
  assert.deepEqual(r.env.slice(-4), ['HTTP_PROXY=http://p:3128', 'http_proxy=http://p:3128', 'NO_PROXY=localhost', 'no_proxy=localhost']);
  assert.equal(r.createdBy, 'RUN /bin/sh -c curl x # buildkit');
  assert.deepEqual(createdBy(stageOf(p)), ['RUN /bin/sh -c curl x # buildkit']);
  assert.deepEqual(p.warnings, []);
});

test('unused build-arg warning in Docker words; args of pruned stages do not count', async () => {
  const { plan: p } = await plan(`ARG META
FROM scratch AS other
ARG ONLY_OTHER
FROM scratch
ARG USED
`, { buildArgs: { foo: '1', USED: '2', META: '3', ONLY_OTHER: '4', BUILDKIT_INLINE_CACHE: '1' } });
  assert.deepEqual(p.warnings, ['[Warning] One or more build-args [ONLY_OTHER foo] were not consumed']);
});

test('defaultArgs: values, order and overrides', () => {
  const e = defaultArgs(AMD64, ARM64, new Map([['TARGETOS', 'custom']]), '');
  assert.deepEqual(e.toArray(), [
    'BUILDPLATFORM=linux/amd64', 'BUILDOS=linux', 'BUILDOSVERSION=', 'BUILDARCH=amd64', 'BUILDVARIANT=',
    'TARGETPLATFORM=linux/arm64/v8', 'TARGETOS=custom', 'TARGETOSVERSION=', 'TARGETARCH=arm64', 'TARGETVARIANT=v8', 'TARGETSTAGE=default',
  ]);
});

test('proxyEnv: lower-case wins when both cases are given (sorted keys, last wins)', () => {
  assert.deepEqual(proxyEnv(new Map([['http_proxy', 'lower'], ['HTTP_PROXY', 'upper']])), ['HTTP_PROXY=lower', 'http_proxy=lower']);
  assert.deepEqual(proxyEnv(new Map([['FOO', 'x']])), []);
  assert.equal(unusedBuildArgsWarning(new Map([['a', '1']]), new Set(['a'])), undefined);
});

test('ARG history strings; FROM <stage> inherits the ARG values, not their declarations (BuildKit 0.13)', async () => {
  const { plan: p } = await plan(`FROM scratch AS base
ARG A=1 B
RUN one
FROM base
ARG C=3
RUN two
`);
  assert.deepEqual(createdBy(stageOf(p, 0)), ['ARG A=1 B', 'RUN |2 A=1 B= /bin/sh -c one # buildkit']);
  assert.deepEqual(createdBy(stageOf(p, 1)), ['ARG C=3', 'RUN |1 C=3 /bin/sh -c two # buildkit']);
  assert.equal(envOf(runs(stageOf(p, 1))[0]!).get('A'), '1');
});

test('repeated ARG is listed at each declaration, all with the current value (Docker 26; dedup came in dockerfile/1.9)', async () => {
  const { plan: p } = await plan(`FROM busybox
ARG foo=bar
ARG bar=123
ARG foo=bar2
RUN ["ls", "/etc/"]
`);
  assert.deepEqual(createdBy(stageOf(p)), ['ARG foo=bar', 'ARG bar=123', 'ARG foo=bar2', 'RUN |3 foo=bar2 bar=123 foo=bar2 ls /etc/ # buildkit']);
});
