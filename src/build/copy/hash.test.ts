// hashCopyInputs: changes exactly when something the COPY would read (or a flag shaping its
// result) changes; ignored, excluded and unselected files do not matter. Plus --chmod parsing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, lstatSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { setAttributeSync } from 'fs-xattr';
import { KilnError } from '../../errors.js';
import { IgnoreMatcher, parseDockerignore } from '../../context/index.js';
import { makeTempDir, removeTree } from '../../support/index.js';
import { makeTree } from '../../../test/helpers/copy-tree.js';
import { computeCopyDigest, digestFile, hashCopyInputs, parseChmod, type CopyRequest } from './index.js';

const base = makeTempDir('kiln-copyhash-test-');
after(() => removeTree(base));

function fixture(name: string): { ctx: string; req: Omit<CopyRequest, 'destRoot'> } {
  const ctx = `${base}/${name}`;
  makeTree(ctx, {
    'app/main.js': 'main', 'app/lib/util.js': 'util', 'app/test/t.js': 'test', 'app/README.md': 'readme',
    'secret.env': 'S', 'other.txt': 'O', 'app/link': { link: 'main.js' },
  });
  return {
    ctx,
    req: {
      srcRoot: ctx, srcKind: 'context', sources: ['app'], inline: [], dest: '/srv/', parents: false, excludes: ['test'], link: false,
      ignore: new IgnoreMatcher(parseDockerignore('secret.env\n**/*.md\n')),
    },
  };
}

test('digest changes with selected content and mode, not with ignored/excluded/unselected files or mtimes', async () => {
  const { ctx, req } = fixture('a');
  const d0 = await hashCopyInputs(req);
  assert.match(d0.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(d0.files, 3); // main.js, lib/util.js, link
  assert.equal((await hashCopyInputs(req)).digest, d0.digest, 'stable');

  writeFileSync(`${ctx}/app/README.md`, 'changed'); // ignored by .dockerignore
  writeFileSync(`${ctx}/app/test/t.js`, 'changed'); // --exclude
  writeFileSync(`${ctx}/other.txt`, 'changed'); // not selected
  writeFileSync(`${ctx}/secret.env`, 'changed');
  utimesSync(`${ctx}/app/main.js`, 1, 1); // mtimes are not part of the key (like BuildKit)
  assert.equal((await hashCopyInputs(req)).digest, d0.digest);

  writeFileSync(`${ctx}/app/lib/util.js`, 'util2');
  const d1 = await hashCopyInputs(req);
  assert.notEqual(d1.digest, d0.digest, 'content');
  chmodSync(`${ctx}/app/lib/util.js`, 0o755);
  const d2 = await hashCopyInputs(req);
  assert.notEqual(d2.digest, d1.digest, 'mode');
  writeFileSync(`${ctx}/app/new.js`, '');
  const d3 = await hashCopyInputs(req);
  assert.notEqual(d3.digest, d2.digest, 'a new selected file');
  assert.equal(d3.files, 4);
});

test('digest covers flags, destination and inline data', async () => {
  const { req } = fixture('b');
  const d = (await hashCopyInputs(req)).digest;
  const variants: Partial<CopyRequest>[] = [
    { dest: '/other/' }, { chown: '1000' }, { chmod: '755' }, { excludes: [] }, { parents: true },
    { inline: [{ path: 'x', data: '1' }] }, { add: {} }, { sources: ['app/lib'] },
  ];
  const seen = new Set([d]);
  for (const v of variants) {
    const got = (await hashCopyInputs({ ...req, ...v })).digest;
    assert.ok(!seen.has(got), `variant ${JSON.stringify(v)} must change the digest`);
    seen.add(got);
  }
  const i1 = await hashCopyInputs({ ...req, inline: [{ path: 'x', data: '1' }] });
  const i2 = await hashCopyInputs({ ...req, inline: [{ path: 'x', data: '2' }] });
  assert.notEqual(i1.digest, i2.digest);
});

test('digest: wildcards select like the copy; a missing source fails like the copy', async () => {
  const { ctx, req } = fixture('c');
  const w = { ...req, sources: ['*.txt'] };
  const d0 = (await hashCopyInputs(w)).digest;
  writeFileSync(`${ctx}/app/main.js`, 'x');
  assert.equal((await hashCopyInputs(w)).digest, d0);
  writeFileSync(`${ctx}/other.txt`, 'x');
  assert.notEqual((await hashCopyInputs(w)).digest, d0);
  await assert.rejects(hashCopyInputs({ ...req, sources: ['nope'] }), (e: unknown) => e instanceof KilnError && e.code === 'CONTEXT_PATH_NOT_FOUND');
  await assert.rejects(hashCopyInputs({ ...req, sources: ['secret.env'] }), (e: unknown) => e instanceof KilnError && e.code === 'CONTEXT_PATH_NOT_FOUND');
});

test('a custom file digester supplies per-file content digests (cache hook)', async () => {
  const { req } = fixture('d');
  const seen: string[] = [];
  const r = await computeCopyDigest(req, (abs) => {
    seen.push(abs.slice(abs.indexOf('/app/') + 1));
    return 'x'.repeat(64);
  });
  assert.deepEqual(seen.sort(), ['app/lib/util.js', 'app/main.js']);
  assert.notEqual(r.digest, (await computeCopyDigest(req)).digest);
});

test('big files are hashed in chunks: a change in the last byte counts', async () => {
  const { ctx, req } = fixture('e');
  writeFileSync(`${ctx}/app/big.bin`, Buffer.alloc(3 << 20, 7));
  const a = await computeCopyDigest(req);
  writeFileSync(`${ctx}/app/big.bin`, Buffer.concat([Buffer.alloc((3 << 20) - 1, 7), Buffer.from([8])]));
  assert.notEqual((await computeCopyDigest(req)).digest, a.digest);
  const st = lstatSync(`${ctx}/app/big.bin`, { bigint: true });
  assert.equal(digestFile(`${ctx}/app/big.bin`, st), createHash('sha256').update(readFileSync(`${ctx}/app/big.bin`)).digest('hex'));
});

test('parseChmod: octal and symbolic like BuildKit', () => {
  assert.equal(parseChmod('755').apply(0o600, false), 0o755);
  assert.equal(parseChmod('0644').octal, 0o644);
  assert.equal(parseChmod('7777').octal, 0o7777);
  const cases: [string, number, boolean, number][] = [
    ['u+x', 0o644, false, 0o744],
    ['g-w,o=r', 0o666, false, 0o644],
    ['a+X', 0o644, false, 0o644],
    ['a+X', 0o644, true, 0o755],
    ['a+X', 0o744, false, 0o755],
    ['+x', 0o600, false, 0o711],
    ['=r', 0o777, false, 0o444],
    ['u=rwx,go=', 0o666, false, 0o700],
    ['u+s', 0o755, false, 0o4755],
    ['g+s,+t', 0o755, true, 0o3755],
    ['go=u', 0o640, false, 0o666],
    ['o-rwx', 0o777, false, 0o770],
  ];
  for (const [spec, mode, dir, want] of cases) {
    assert.equal(parseChmod(spec).apply(mode, dir).toString(8), want.toString(8), `${spec} on ${mode.toString(8)}`);
  }
  for (const bad of ['', '8', '999', '10000', 'u+q', 'z+x', 'u', 'u+x,,g+w', '0o755']) {
    assert.throws(() => parseChmod(bad), (e: unknown) => e instanceof KilnError && e.code === 'INVALID_FLAG', bad);
  }
});

test('digest covers what the copier carries besides content: a directory\'s xattrs, hard links between selected files', async () => {
  const { ctx, req } = fixture('links-xattrs');
  const d0 = (await computeCopyDigest(req)).digest;
  setAttributeSync(`${ctx}/app/lib`, 'user.kiln', Buffer.from('1'));
  const d1 = (await computeCopyDigest(req)).digest;
  assert.notEqual(d1, d0, 'a directory xattr is copied, so it is in the key');
  setAttributeSync(`${ctx}/app/lib`, 'user.kiln', Buffer.from('2'));
  const d2 = (await computeCopyDigest(req)).digest;
  assert.notEqual(d2, d1);
  // two files with the same content, then the second made a hard link of the first
  writeFileSync(`${ctx}/app/copy.js`, 'main');
  const d3 = (await computeCopyDigest(req)).digest;
  rmSync(`${ctx}/app/copy.js`);
  linkSync(`${ctx}/app/main.js`, `${ctx}/app/copy.js`);
  const d4 = (await computeCopyDigest(req)).digest;
  assert.notEqual(d4, d3, 'a hard link is copied as one, so it is in the key');
});
