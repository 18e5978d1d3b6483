// seedLayer's guards on plain directories (the end-to-end behaviour is in
// test/e2e/copy-reuse.test.ts): which files it links, which it leaves to the copier.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { linkSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { listAttributesSync, setAttributeSync } from 'fs-xattr';
import { makeTempDir, removeTree } from '../../support/index.js';
import { selectInputs } from './inputs.js';
import { sameMatches, seedLayer, type CopyTarget } from './reuse.js';

const base = makeTempDir('kiln-reuse-test-');
after(() => removeTree(base));
let n = 0;

function files(dir: string, list: Record<string, string>): void {
  for (const [p, c] of Object.entries(list)) {
    mkdirSync(`${dir}/${p}`.replace(/\/[^/]*$/, ''), { recursive: true });
    writeFileSync(`${dir}/${p}`, c);
  }
}

async function setup(ctxFiles: Record<string, string>, prevFiles: Record<string, string>, sources: string[]) {
  const dir = `${base}/${++n}`;
  const ctx = `${dir}/ctx`;
  const prev = `${dir}/prev`;
  const layer = `${dir}/layer`;
  files(ctx, ctxFiles);
  mkdirSync(prev, { recursive: true });
  files(prev, prevFiles);
  mkdirSync(layer);
  const inputs = await selectInputs({ srcRoot: ctx, srcKind: 'context', sources, inline: [], dest: '/', parents: false, excludes: [], link: false });
  return { ctx, prev, layer, inputs };
}

const sig = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, `644:${v}`]));

test('links unchanged files only, recreating their directories', async () => {
  const { ctx, prev, layer, inputs } = await setup({ 'src/a': '1', 'src/b': '2', 'src/d/c': '3' }, { 'app/src/a': '1', 'app/src/b': 'old', 'app/src/d/c': '3' }, ['src']);
  const targets: CopyTarget[] = [{ rel: 'src', dir: true, target: 'app/src', created: false }];
  const before = sig({ 'src/a': 'A', 'src/b': 'B-old', 'src/d/c': 'C' });
  const now = new Map(Object.entries(sig({ 'src/a': 'A', 'src/b': 'B-new', 'src/d/c': 'C' })));
  const r = seedLayer(layer, prev, { inputs, targets, srcRoot: ctx, before, now });
  assert.deepEqual([...r.files].sort(), ['app/src/a', 'app/src/d/c']);
  // the target existed before the copy: not the copier's own; what is below it is
  assert.deepEqual([...r.dirs].sort(), ['app/src/d']);
  assert.equal(lstatSync(`${layer}/app/src/a`).ino, lstatSync(`${prev}/app/src/a`).ino);
  assert.deepEqual(readdirSync(`${layer}/app/src`).sort(), ['a', 'd']);
});

test('never links a source with several links, an inode twice, or a file of another size', async () => {
  const { ctx, prev, layer, inputs } = await setup({ 'src/h1': 'x', 'src/s': 'short', 'src/p': 'p', 'src/q': 'q' }, { 'app/src/s': 'longer', 'app/src/p': 'p' }, ['src']);
  linkSync(`${ctx}/src/h1`, `${ctx}/src/h2`);
  linkSync(`${prev}/app/src/p`, `${prev}/app/src/q`); // the previous result had p and q as one file
  files(prev, { 'app/src/h1': 'x', 'app/src/h2': 'x' });
  const again = await selectInputs({ srcRoot: ctx, srcKind: 'context', sources: ['src'], inline: [], dest: '/', parents: false, excludes: [], link: false });
  assert.ok(inputs.length === 1);
  const same = sig({ 'src/h1': 'X', 'src/h2': 'X', 'src/s': 'S', 'src/p': 'P', 'src/q': 'P' });
  const r = seedLayer(layer, prev, { inputs: again, targets: [{ rel: 'src', dir: true, target: 'app/src', created: true }], srcRoot: ctx, before: same, now: new Map(Object.entries(same)) });
  assert.deepEqual([...r.files], ['app/src/p']);
  assert.ok(r.dirs.has('app/src'), 'a target the copy made is finished by the copier');
});

test('different or overlapping matches seed nothing', async () => {
  const { ctx, prev, layer, inputs } = await setup({ 'a/x': '1', 'b/y': '2' }, { 'dst/x': '1', 'dst/y': '2' }, ['a', 'b']);
  const same = sig({ 'a/x': 'X', 'b/y': 'Y' });
  const merged: CopyTarget[] = [{ rel: 'a', dir: true, target: 'dst', created: false }, { rel: 'b', dir: true, target: 'dst', created: false }];
  assert.equal(sameMatches(inputs, merged), false);
  assert.equal(sameMatches(inputs, [merged[0]!, { rel: 'b', dir: true, target: 'dst/b', created: false }]), false);
  assert.equal(sameMatches(inputs, [merged[0]!]), false);
  assert.equal(sameMatches(inputs, [{ rel: 'a', dir: false, target: 'x', created: false }, { rel: 'b', dir: true, target: 'y', created: false }]), false);
  assert.equal(sameMatches(inputs, [{ rel: 'a', dir: true, target: 'x', created: false }, { rel: 'b', dir: true, target: 'y', created: false }]), true);
  const r = seedLayer(layer, prev, { inputs, targets: merged, srcRoot: ctx, before: same, now: new Map(Object.entries(same)) });
  assert.equal(r.files.size + r.dirs.size, 0);
  assert.deepEqual(readdirSync(layer), []);
});

test('a seeded directory gets no xattrs from the previous result: the copier gives it its source\'s', async () => {
  const { ctx, prev, layer, inputs } = await setup({ 'src/sub/a': '1' }, { 'app/src/sub/a': '1' }, ['src']);
  setAttributeSync(`${prev}/app/src/sub`, 'user.stale', Buffer.from('x'));
  const same = sig({ 'src/sub/a': 'A' });
  const r = seedLayer(layer, prev, { inputs, targets: [{ rel: 'src', dir: true, target: 'app/src', created: false }], srcRoot: ctx, before: same, now: new Map(Object.entries(same)) });
  assert.ok(r.dirs.has('app/src/sub'), 'the directory was seeded');
  assert.deepEqual(listAttributesSync(`${layer}/app/src/sub`), []);
});
