// RUN's history text `RUN |N K=V ... argv` as Docker 26's BuildKit (0.13) writes it: one entry per
// ARG declaration of THIS stage in order (repeats kept), valued from the build env, none from a
// parent stage; the ARG values themselves still reach the RUN's environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createdBy, envOf, plan, runs, stageOf } from './test-support.js';
import { buildArgPairs, runCommandString } from './format.js';
import { EnvList } from './env.js';

const runHistory = (s: Parameters<typeof createdBy>[0]): string[] => createdBy(s).filter((c) => c.startsWith('RUN '));

test('redeclared ARG is listed twice; a child stage lists only its own declarations (conformance case arg-scoping)', async () => {
  const { plan: p } = await plan(`FROM busybox AS one
ARG SCOPED=one-value
ARG SHARED=first
ARG SHARED=second
RUN echo one
ENV PERSISTED=$SCOPED

FROM one AS two
RUN echo two
ARG SCOPED
RUN echo redeclared
ARG SCOPED=two-value
RUN echo default
`);
  assert.deepEqual(runHistory(stageOf(p, 0)), ['RUN |3 SCOPED=one-value SHARED=second SHARED=second /bin/sh -c echo one # buildkit']);
  assert.deepEqual(runHistory(stageOf(p, 1)), [
    'RUN /bin/sh -c echo two # buildkit',
    // no default and no global: the value is the one the build env inherited from stage one
    'RUN |1 SCOPED=one-value /bin/sh -c echo redeclared # buildkit',
    'RUN |2 SCOPED=two-value SCOPED=two-value /bin/sh -c echo default # buildkit',
  ]);
  // only the text changes: the child's RUNs still see the parent's ARG values
  const [two, redeclared, withDefault] = runs(stageOf(p, 1));
  assert.equal(envOf(two!).get('SCOPED'), 'one-value');
  assert.equal(envOf(two!).get('SHARED'), 'second');
  assert.equal(envOf(two!).get('PERSISTED'), 'one-value');
  assert.equal(envOf(redeclared!).get('SCOPED'), 'one-value');
  assert.equal(envOf(withDefault!).get('SCOPED'), 'two-value');
  assert.deepEqual(withDefault!.buildArgs, ['SCOPED=two-value', 'SCOPED=two-value']);
  // the RUN step's own createdBy (history of a built layer) is the same text
  assert.equal(withDefault!.createdBy, 'RUN |2 SCOPED=two-value SCOPED=two-value /bin/sh -c echo default # buildkit');
});

test('a grandchild stage lists neither ancestor\'s ARGs', async () => {
  const { plan: p } = await plan(`FROM scratch AS a
ARG X=1
FROM a AS b
ARG Y=2
FROM b
RUN go
`);
  assert.deepEqual(runHistory(stageOf(p)), ['RUN /bin/sh -c go # buildkit']);
  assert.equal(envOf(runs(stageOf(p))[0]!).get('X'), '1');
  assert.equal(envOf(runs(stageOf(p))[0]!).get('Y'), '2');
});

test('meta ARG redeclared in the stage lists the global value; --build-arg overrides it', async () => {
  const text = `ARG V=global
FROM scratch
ARG V
RUN a
`;
  const r1 = await plan(text);
  assert.deepEqual(runHistory(stageOf(r1.plan)), ['RUN |1 V=global /bin/sh -c a # buildkit']);
  const r2 = await plan(text, { buildArgs: { V: 'cli' } });
  assert.deepEqual(runHistory(stageOf(r2.plan)), ['RUN |1 V=cli /bin/sh -c a # buildkit']);
  assert.equal(envOf(runs(stageOf(r2.plan))[0]!).get('V'), 'cli');
});

test('--build-arg value is listed for a stage ARG (its ARG entry keeps the default); undeclared build args are not', async () => {
  const { plan: p } = await plan(`FROM scratch
ARG W=default
RUN a
`, { buildArgs: { W: 'cli-w', UNDECLARED: 'x' } });
  assert.deepEqual(createdBy(stageOf(p)), ['ARG W=default', 'RUN |1 W=cli-w /bin/sh -c a # buildkit']);
  assert.equal(envOf(runs(stageOf(p))[0]!).has('UNDECLARED'), false);
});

test('undeclared proxy build args stay out of the list (still in the env); a later ENV shows in every entry of its name', async () => {
  const { plan: p } = await plan(`FROM scratch
ARG X=arg
ENV X=env
ARG X
ARG EMPTY
RUN a
`, { buildArgs: { HTTP_PROXY: 'http://p:3128' } });
  const r = runs(stageOf(p))[0]!;
  assert.equal(r.createdBy, 'RUN |3 X=env X=env EMPTY= /bin/sh -c a # buildkit');
  assert.equal(envOf(r).get('HTTP_PROXY'), 'http://p:3128');
  assert.equal(envOf(r).get('X'), 'env');
});

test('buildArgPairs/runCommandString: one entry per declaration, env value first, then the declared value, then empty', () => {
  const env = EnvList.fromPairs([['A', 'from-env']]);
  const pairs = buildArgPairs([{ key: 'A', value: 'decl' }, { key: 'B', value: 'b' }, { key: 'A' }, { key: 'C' }], env);
  assert.deepEqual(pairs, ['A=from-env', 'B=b', 'A=from-env', 'C=']);
  assert.equal(runCommandString(['/bin/sh', '-c', 'x'], pairs), '|4 A=from-env B=b A=from-env C= /bin/sh -c x');
  assert.equal(runCommandString(['/bin/sh', '-c', 'x'], []), '/bin/sh -c x');
});

test('a meta ARG without value blanks an earlier value, even an automatic platform arg (Docker 26, BuildKit 0.13)', async () => {
  const { plan: p, resolver } = await plan(`ARG TARGETARCH
ARG V=1
ARG V
ARG KEEP=k
FROM img:x\${TARGETARCH:+-\$TARGETARCH}\${V:+-v}
ARG TARGETARCH
ARG V
ARG KEEP
RUN go
`);
  assert.deepEqual(resolver.refs(), ['img:x']);
  const r = runs(stageOf(p))[0]!;
  assert.equal(r.createdBy, 'RUN |3 TARGETARCH= V= KEEP=k /bin/sh -c go # buildkit');
  assert.equal(envOf(r).has('TARGETARCH'), false);
  assert.equal(envOf(r).has('V'), false);
  assert.equal(envOf(r).get('KEEP'), 'k');
  // a --build-arg still gives the meta ARG its value
  const { plan: p2, resolver: r2 } = await plan(`ARG TARGETARCH
FROM img:\${TARGETARCH}
ARG TARGETARCH
RUN go
`, { buildArgs: { TARGETARCH: 'riscv64' } });
  assert.deepEqual(r2.refs(), ['img:riscv64']);
  assert.equal(runs(stageOf(p2))[0]!.createdBy, 'RUN |1 TARGETARCH=riscv64 /bin/sh -c go # buildkit');
});

test('ARG keys are expanded, and every word of one ARG with the env from before it (Docker 26, BuildKit 0.13)', async () => {
  const { plan: p } = await plan(`FROM scratch
ENV N=NAME
ARG \${N}=x $N-y=z A=1 B=a$A
ARG C=c$A
RUN go
`, { buildArgs: { NAME: 'cli' } });
  assert.deepEqual(createdBy(stageOf(p)).slice(1), [
    'ARG NAME=x NAME-y=z A=1 B=a',
    'ARG C=c1',
    'RUN |5 NAME=cli NAME-y=z A=1 B=a C=c1 /bin/sh -c go # buildkit',
  ]);
  const env = envOf(runs(stageOf(p))[0]!);
  assert.equal(env.get('NAME'), 'cli');
  assert.equal(env.get('B'), 'a');
  assert.equal(env.has('${N}'), false);
  assert.deepEqual(p.warnings, []);
});
