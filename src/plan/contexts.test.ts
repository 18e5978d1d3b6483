// Named build contexts in planning: BuildKit's lookup order (a stage's own name first, then an
// earlier stage, then a context, then scratch/image), name normalisation, what each kind becomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeResolver, request, stageOf } from './test-support.js';
import { planBuild } from './plan.js';
import { contextName } from './contexts.js';
import type { BuildPlan, CopyStep, NamedContext, RunStep } from './types.js';

async function planWith(text: string, contexts: Record<string, NamedContext>, target?: string): Promise<{ plan: BuildPlan; resolver: FakeResolver }> {
  const resolver = new FakeResolver();
  const req = { ...request(text, target !== undefined ? { target } : {}), namedContexts: new Map(Object.entries(contexts)) };
  return { plan: await planBuild(req, resolver.resolve), resolver };
}

const DIR: NamedContext = { kind: 'local', dir: '/srv/extra' };

test('contextName normalises like BuildKit: familiar form, :latest dropped; invalid names are undefined', () => {
  assert.equal(contextName('base'), 'base');
  assert.equal(contextName('base:latest'), 'base');
  assert.equal(contextName('docker.io/library/base:latest'), 'base');
  assert.equal(contextName('base:1.0'), 'base:1.0');
  assert.equal(contextName('example.com/team/app'), 'example.com/team/app');
  assert.equal(contextName('Bad'), undefined);
});

test('COPY --from=NAME and RUN --mount=from=NAME read a local context; no stage depends on it', async () => {
  const { plan: p, resolver } = await planWith('FROM alpine\nCOPY --from=extra /f /f\nRUN --mount=from=extra,target=/mnt cat /mnt/f\n', { extra: DIR });
  const s = stageOf(p);
  const copy = s.steps[0] as CopyStep;
  assert.deepEqual(copy.from, { kind: 'local', name: 'extra', dir: '/srv/extra' });
  assert.deepEqual((s.steps[1] as RunStep).mounts[0]!.from, { kind: 'local', name: 'extra', dir: '/srv/extra' });
  assert.deepEqual(s.dependsOn, []);
  assert.deepEqual(resolver.refs(), ['alpine'], 'extra is never resolved as an image');
});

test('FROM NAME of a local context: base kind local, an empty image config for the platform', async () => {
  const { plan: p, resolver } = await planWith('FROM extra:latest\nCMD ["x"]\n', { extra: DIR });
  const s = stageOf(p);
  assert.deepEqual(s.base, { kind: 'local', name: 'extra', dir: '/srv/extra' });
  assert.deepEqual(resolver.refs(), []);
  assert.deepEqual(s.config.config?.Cmd, ['x']);
  assert.ok(s.config.config?.Env?.some((e) => e.startsWith('PATH=')));
});

test('an image context resolves its REF through the same resolver, in place of the name', async () => {
  const { plan: p, resolver } = await planWith('FROM base\nCOPY --from=tools /t /t\n', { base: { kind: 'image', ref: 'busybox:1.36' }, tools: { kind: 'image', ref: 'alpine' } });
  assert.deepEqual(resolver.refs(), ['alpine', 'busybox:1.36']);
  const s = stageOf(p);
  assert.equal(s.base.kind === 'image' && s.base.image.ref, 'docker.io/library/busybox:1.36');
  const copy = s.steps[0] as CopyStep;
  assert.equal(copy.from.kind === 'image' && copy.from.image.ref, 'docker.io/library/alpine');
});

test('a context named like a stage replaces that stage: its instructions and its base are never planned', async () => {
  const text = 'FROM golang AS deps\nRUN exit 3\nCOPY --from=other /x /x\nFROM alpine AS alpine-target\nCOPY --from=deps /lib /lib\nFROM deps AS again\n';
  const { plan: p, resolver } = await planWith(text, { deps: DIR });
  assert.deepEqual(resolver.refs(), [], 'neither golang nor other is resolved');
  assert.deepEqual(p.stages.map((s) => s.index), [0, 2]);
  const deps = stageOf(p, 0);
  assert.deepEqual(deps.base, { kind: 'local', name: 'deps', dir: '/srv/extra' });
  assert.deepEqual(deps.steps, []);
  assert.deepEqual(stageOf(p, 2).base, { kind: 'stage', stage: 0 });
  const { plan: p2, resolver: r2 } = await planWith(text, { deps: DIR }, 'alpine-target');
  assert.deepEqual(r2.refs(), ['alpine']);
  const copy = stageOf(p2, 1).steps[0] as CopyStep;
  assert.deepEqual(copy.from, { kind: 'stage', stage: 0 });
  assert.deepEqual(stageOf(p2, 1).dependsOn, [0]);
});

test('an earlier stage wins over a context for FROM NAME when the stage itself is not replaced; scratch is never looked up, a context named context is', async () => {
  // the stage is named build, the context base: FROM build is the stage
  const { plan: p } = await planWith('FROM alpine AS build\nFROM build\n', { base: DIR, scratch: DIR, context: DIR });
  assert.deepEqual(stageOf(p).base, { kind: 'stage', stage: 0 });
  const { plan: q } = await planWith('FROM scratch\nCOPY --from=context /x /x\n', { scratch: DIR, context: DIR });
  assert.equal(stageOf(q).base.kind, 'scratch');
  const copy = stageOf(q).steps[0] as CopyStep;
  assert.equal(copy.from.kind, 'local', 'COPY --from=context reads the context named context (BuildKit looks the name up like any image name)');
});

test('docker-image://scratch is an empty base', async () => {
  const { plan: p, resolver } = await planWith('FROM base\n', { base: { kind: 'image', ref: 'scratch' } });
  assert.equal(stageOf(p).base.kind, 'scratch');
  assert.deepEqual(resolver.refs(), []);
});
