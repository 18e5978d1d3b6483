// kiln import/save/load against the real tools: skopeo reads kiln's OCI layout and
// docker-archive with the same digests and config; umoci unpacks kiln's layout back into the
// exact tree that was imported; skopeo-written archives load into kiln; imports are reproducible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertValid, sha256 } from '../src/image/index.js';
import { Store, loadImage } from '../src/store/index.js';
import { KILN_BIN, runKiln } from './helpers/cli.js';
import { makeFixtureTree } from './helpers/layer-tree.js';
import { needCommand, needRoot } from './helpers/prereq.js';
import { assertSameTree } from './helpers/tree.js';
import { gunzip } from './helpers/random-image.js';

const EPOCH = '1700000000';

function tmp(p: string): string {
  return mkdtempSync(join(tmpdir(), `kiln-xio-${p}-`));
}

function run(cmd: string, args: readonly string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function kiln(root: string, args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const r = await runKiln(args, { env: { KILN_ROOT: root, ...env } });
  assert.equal(r.code, 0, `kiln ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Inspect {
  Id: string;
  RepoTags: string[];
  Config: Record<string, unknown>;
  RootFS: { Layers: string[] };
  Manifest: { Digest: string };
  Layers: { Digest: string; Size: number }[];
}

async function inspect(root: string, name: string): Promise<Inspect> {
  return (JSON.parse(await kiln(root, ['inspect', name])) as Inspect[])[0]!;
}

function smallTree(): string {
  const dir = tmp('tree');
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'hello'), 'hello from kiln\n');
  writeFileSync(join(dir, 'etc', 'motd'), 'motd\n');
  return dir;
}

test('umoci unpacks kiln\'s OCI layout into exactly the imported tree (modes, owners, xattrs, links, devices)', async (t) => {
  if (!needRoot(t)) return;
  const umoci = needCommand(t, 'umoci');
  if (!umoci) return;
  const src = tmp('fixture');
  makeFixtureTree(src);
  const root = tmp('root');
  await kiln(root, ['import', src, 'fixture:1']);
  const layout = join(tmp('layout'), 'oci');
  await kiln(root, ['save', '--format', 'oci-dir', '-o', layout, 'fixture:1']);
  const work = tmp('unpack');
  run(umoci, ['unpack', '--image', `${layout}:fixture:1`, join(work, 'bundle')]);
  assertSameTree(join(work, 'bundle', 'rootfs'), src);
});

test('skopeo reads kiln\'s OCI layout and docker-archive with kiln\'s digests and config', async (t) => {
  const skopeo = needCommand(t, 'skopeo');
  if (!skopeo) return;
  const root = tmp('root');
  await kiln(root, ['import', '-c', 'CMD ["/bin/sh"]', '-c', 'ENV GREETING=hi', '-c', 'LABEL org.example=1', smallTree(), 'example.com/team/app:1.0'], { SOURCE_DATE_EPOCH: EPOCH });
  const info = await inspect(root, 'example.com/team/app:1.0');
  const storedConfig = await Store.open(root).readBytes(info.Id as never);

  const layout = join(tmp('layout'), 'oci');
  await kiln(root, ['save', '--format', 'oci-dir', '-o', layout, 'example.com/team/app:1.0']);
  const oci = JSON.parse(run(skopeo, ['inspect', `oci:${layout}:example.com/team/app:1.0`])) as { Digest: string; Layers: string[]; Env: string[]; Labels: Record<string, string>; Created: string };
  assert.equal(oci.Digest, info.Manifest.Digest);
  assert.deepEqual(oci.Layers, info.Layers.map((l) => l.Digest));
  assert.deepEqual(oci.Env, ['GREETING=hi']);
  assert.deepEqual(oci.Labels, { 'org.example': '1' });
  assert.equal(oci.Created, '2023-11-14T22:13:20Z');
  assert.equal(run(skopeo, ['inspect', '--config', '--raw', `oci:${layout}:example.com/team/app:1.0`]), storedConfig.toString());

  const archive = join(tmp('darch'), 'app.tar');
  await kiln(root, ['save', '-o', archive, 'example.com/team/app:1.0']);
  const dock = JSON.parse(run(skopeo, ['inspect', `docker-archive:${archive}`])) as { RepoTags: string[]; Layers: string[]; Env: string[] };
  // the docker-archive holds uncompressed layers: their digests are the diff_ids
  assert.deepEqual(dock.Layers, info.RootFS.Layers);
  assert.deepEqual(dock.Env, ['GREETING=hi']);
  const rawConfig = run(skopeo, ['inspect', '--config', '--raw', `docker-archive:${archive}`]);
  assert.equal(sha256(rawConfig), info.Id, 'the config (image ID) is the same bytes');
  const manifest = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
  assert.equal(manifest.manifests[0]!.annotations['org.opencontainers.image.ref.name'], 'example.com/team/app:1.0');
});

test('skopeo copy to oci-archive and docker-archive, then kiln load: valid images with the same config', async (t) => {
  const skopeo = needCommand(t, 'skopeo');
  if (!skopeo) return;
  const root = tmp('root');
  await kiln(root, ['import', '-c', 'CMD ["/hello"]', smallTree(), 'copyme:1'], { SOURCE_DATE_EPOCH: EPOCH });
  const info = await inspect(root, 'copyme:1');
  const layout = join(tmp('layout'), 'oci');
  await kiln(root, ['save', '--format', 'oci-dir', '-o', layout, 'copyme:1']);
  const out = tmp('copies');
  run(skopeo, ['copy', '--quiet', `oci:${layout}:copyme:1`, `oci-archive:${join(out, 'o.tar')}:copied:2`]);
  run(skopeo, ['copy', '--quiet', `oci:${layout}:copyme:1`, `docker-archive:${join(out, 'd.tar')}:copied:3`]);
  for (const [file, name] of [['o.tar', 'copied:2'], ['d.tar', 'copied:3']] as const) {
    const dst = tmp('dst');
    const loaded = await kiln(dst, ['load', '-i', join(out, file)]);
    assert.equal(loaded, `Loaded image: ${name}\n`);
    const store = Store.open(dst);
    const img = await loadImage(store, `docker.io/library/${name}`, { decompress: gunzip });
    await assertValid(img);
    const got = await inspect(dst, name);
    assert.deepEqual(got.Config, info.Config, file);
    assert.deepEqual(got.RootFS.Layers, info.RootFS.Layers, file);
    if (file === 'o.tar') assert.equal(got.Manifest.Digest, info.Manifest.Digest, 'an OCI copy keeps the manifest');
    assert.match(await kiln(dst, ['store', 'verify']), /no problems/);
  }
  // and an OCI layout directory loads in place
  const dst = tmp('dst');
  assert.equal(await kiln(dst, ['load', '-i', layout]), 'Loaded image: copyme:1\n');
  assert.equal((await inspect(dst, 'copyme:1')).Manifest.Digest, info.Manifest.Digest);
});

test('kiln save to stdout piped into kiln load from stdin (docker and oci formats)', async () => {
  const src = tmp('pipe-src');
  await kiln(src, ['import', smallTree(), 'piped:1'], { SOURCE_DATE_EPOCH: EPOCH });
  const info = await inspect(src, 'piped:1');
  for (const format of ['docker', 'oci']) {
    const saved = spawnSync(KILN_BIN, ['save', '--format', format, 'piped:1'], { env: { ...process.env, KILN_ROOT: src } });
    assert.equal(saved.status, 0, saved.stderr.toString());
    const dst = tmp('pipe-dst');
    const loaded = spawnSync(KILN_BIN, ['load'], { input: saved.stdout, env: { ...process.env, KILN_ROOT: dst } });
    assert.equal(loaded.status, 0, loaded.stderr.toString());
    assert.equal(loaded.stdout.toString(), 'Loaded image: piped:1\n');
    const got = await inspect(dst, 'piped:1');
    assert.equal(got.Id, info.Id, format);
    assert.deepEqual(got.RootFS.Layers, info.RootFS.Layers, format);
  }
});

test('the same tree imported on two stores (dir and tar) gives the same manifest digest', async () => {
  const tree = smallTree();
  const env = { SOURCE_DATE_EPOCH: EPOCH };
  const digests: string[] = [];
  for (let i = 0; i < 2; i++) {
    const root = tmp(`repro${i}`);
    await kiln(root, ['import', '-c', 'CMD ["sh"]', tree, 'repro:1'], env);
    digests.push((await inspect(root, 'repro:1')).Manifest.Digest);
  }
  assert.equal(digests[0], digests[1]);
  // a tarball is kept byte for byte: the same file gives the same image too
  const tarball = join(tmp('tarball'), 'rootfs.tar');
  run('tar', ['-C', tree, '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-cf', tarball, '.']);
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const root = tmp(`tar${i}`);
    await kiln(root, ['import', tarball, 'fromtar:1'], env);
    const got = await inspect(root, 'fromtar:1');
    assert.equal(got.Layers[0]!.Digest, sha256(readFileSync(tarball)), 'the tar is the layer blob');
    ids.push(got.Manifest.Digest);
  }
  assert.equal(ids[0], ids[1]);
  // without SOURCE_DATE_EPOCH the creation time is now
  const root = tmp('now');
  await kiln(root, ['import', tree, 'now:1']);
  const created = Date.parse(((await inspect(root, 'now:1')) as unknown as { Created: string }).Created);
  assert.ok(Math.abs(Date.now() - created) < 60_000);
});

test('kiln import errors: bad --change, not a tar, missing source', async () => {
  const root = tmp('err');
  const bad = await runKiln(['import', '-c', 'RUN make', smallTree(), 'x:1'], { env: { KILN_ROOT: root } });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /RUN is not supported by --change/);
  const junk = join(tmp('junk'), 'junk.bin');
  writeFileSync(junk, Buffer.alloc(5000, 0x41));
  const notTar = await runKiln(['import', junk, 'x:1'], { env: { KILN_ROOT: root } });
  assert.notEqual(notTar.code, 0);
  assert.match(notTar.stderr, /not a tar archive/);
  const missing = await runKiln(['import', '/nonexistent/rootfs', 'x:1'], { env: { KILN_ROOT: root } });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /cannot read \/nonexistent\/rootfs/);
  const none = await runKiln(['inspect', 'nope:1'], { env: { KILN_ROOT: root } });
  assert.notEqual(none.code, 0);
  assert.equal(none.stdout, '[]\n');
  assert.match(none.stderr, /No such image: nope:1/);
  assert.match(await kiln(root, ['store', 'verify']), /no problems/);
});

test('kiln import refuses at once what cannot be an archive (/dev/zero, random bytes, stdin of zeros), kiln load of /dev/zero ends; nothing is left in tmp', async () => {
  const root = tmp('import-hostile');
  for (const [src, input, want] of [
    ['/dev/zero', undefined, /\/dev\/zero is an empty archive/],
    ['/dev/urandom', undefined, /\/dev\/urandom is not a tar archive/],
    ['-', Buffer.alloc(1 << 20), /stdin is an empty archive/],
  ] as const) {
    // /dev/zero and /dev/urandom never end: without the check this filled the disk
    const r = await runKiln(['import', src, 'hostile:1'], { env: { KILN_ROOT: root }, timeoutMs: 30_000, ...(input ? { input } : {}) });
    assert.equal(r.code, 1, `${src}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }
  // kiln load of a stream that never ends reads a bounded amount after the end-of-archive blocks
  const load = await runKiln(['load', '-i', '/dev/zero'], { env: { KILN_ROOT: root }, timeoutMs: 30_000 });
  assert.equal(load.code, 1, load.stderr);
  assert.match(load.stderr, /the archive is empty/);
  const left = spawnSync('find', [join(root, 'tmp'), '-type', 'f'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(left, '');
});
