// kiln ↔ Docker 26 through files: `docker load` takes kiln's docker-archive (and runs it), and
// `kiln load` takes what `docker save` writes. One private dockerd for the whole file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertValid } from '../src/image/index.js';
import { Store, loadImage } from '../src/store/index.js';
import { runKiln } from './helpers/cli.js';
import { haveBusybox, makeBusyboxRootfs } from './helpers/busybox-rootfs.js';
import { fileDockerd } from './helpers/dockerd.js';
import { prereq } from './helpers/prereq.js';

function tmp(p: string): string {
  return mkdtempSync(join(tmpdir(), `kiln-xd-${p}-`));
}

async function kiln(root: string, args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const r = await runKiln(args, { env: { KILN_ROOT: root, ...env } });
  assert.equal(r.code, 0, `kiln ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const { engine } = fileDockerd();

function busyboxTree(): string {
  const dir = makeBusyboxRootfs(tmp('rootfs'));
  writeFileSync(join(dir, 'hello'), 'hello from a kiln image\n');
  return dir;
}

test('docker load accepts kiln\'s docker-archive; the container runs and the image ID is kiln\'s', async (t) => {
  const d = engine(t);
  if (!d || !prereq(t, haveBusybox(), '/bin/busybox (busybox-static)')) return;
  const root = tmp('root');
  const id = (await kiln(root, ['import', '-c', 'CMD ["cat", "/hello"]', '-c', 'ENV PATH=/bin', '-c', 'WORKDIR /tmp', busyboxTree(), 'kiln-made/app:1'], { SOURCE_DATE_EPOCH: '1700000000' })).trim();
  // kiln import stores the fully qualified name, like kiln pull (kiln tag matches names exactly)
  await kiln(root, ['tag', 'docker.io/kiln-made/app:1', 'kiln-made/app:alias']);
  const archive = join(tmp('save'), 'app.tar');
  await kiln(root, ['save', '-o', archive, 'kiln-made/app:1', 'kiln-made/app:alias']);
  const load = await d.dockerOk(['load', '-i', archive]);
  assert.match(load.stdout, /Loaded image: kiln-made\/app:1/);
  assert.match(load.stdout, /Loaded image: kiln-made\/app:alias/);
  const info = JSON.parse((await d.dockerOk(['image', 'inspect', 'kiln-made/app:1'])).stdout) as { Id: string; RepoTags: string[]; Config: { Env: string[]; Cmd: string[]; WorkingDir: string } }[];
  assert.equal(info[0]!.Id, id, 'docker keeps the config bytes: same image ID');
  assert.deepEqual(info[0]!.RepoTags.sort(), ['kiln-made/app:1', 'kiln-made/app:alias']);
  assert.deepEqual(info[0]!.Config.Cmd, ['cat', '/hello']);
  assert.equal(info[0]!.Config.WorkingDir, '/tmp');
  const run = await d.dockerOk(['run', '--rm', '--network', 'none', 'kiln-made/app:1']);
  assert.equal(run.stdout, 'hello from a kiln image\n');
  const run2 = await d.dockerOk(['run', '--rm', '--network', 'none', 'kiln-made/app:alias', 'sh', '-c', 'echo $PATH; pwd; ls -l /bin/busybox | cut -c1-10']);
  assert.equal(run2.stdout, '/bin\n/tmp\n-rwxr-xr-x\n');
});

test('kiln load takes docker save output: a valid image with the same ID and config', async (t) => {
  const d = engine(t);
  if (!d || !prereq(t, haveBusybox(), '/bin/busybox (busybox-static)')) return;
  const dir = tmp('dimport');
  const tarball = join(dir, 'rootfs.tar');
  const r = spawnSync('tar', ['-C', busyboxTree(), '-cf', tarball, '.']);
  assert.equal(r.status, 0);
  const id = (await d.dockerOk(['import', '-c', 'CMD ["/bin/sh"]', '-c', 'ENV A=b', '-c', 'EXPOSE 8080', tarball, 'from-docker:7'])).stdout.trim();
  // a second name for the same image: one manifest.json item with two RepoTags
  await d.dockerOk(['tag', 'from-docker:7', 'example.com/ns/from-docker:8']);
  const archive = join(dir, 'saved.tar');
  await d.dockerOk(['save', '-o', archive, 'from-docker:7', 'example.com/ns/from-docker:8']);
  const root = tmp('root');
  const out = await kiln(root, ['load', '-i', archive]);
  assert.deepEqual(out.trim().split('\n').sort(), ['Loaded image: example.com/ns/from-docker:8', 'Loaded image: from-docker:7']);
  const store = Store.open(root);
  const img = await loadImage(store, 'docker.io/library/from-docker:7');
  await assertValid(img);
  assert.equal((await img.manifest()).config.digest, id);
  const dockerInfo = JSON.parse((await d.dockerOk(['image', 'inspect', 'from-docker:7'])).stdout) as { Config: { Cmd: string[]; Env: string[]; ExposedPorts: Record<string, unknown> }; RootFS: { Layers: string[] } }[];
  const kilnInfo = JSON.parse(await kiln(root, ['inspect', 'from-docker:7'])) as { Id: string; RepoTags: string[]; Config: { Cmd: string[]; Env: string[]; ExposedPorts: Record<string, unknown> }; RootFS: { Layers: string[] } }[];
  assert.equal(kilnInfo[0]!.Id, id);
  assert.deepEqual(kilnInfo[0]!.RepoTags.sort(), ['example.com/ns/from-docker:8', 'from-docker:7']);
  assert.deepEqual(kilnInfo[0]!.Config.Cmd, dockerInfo[0]!.Config.Cmd);
  assert.deepEqual(kilnInfo[0]!.Config.Env, dockerInfo[0]!.Config.Env);
  assert.deepEqual(kilnInfo[0]!.Config.ExposedPorts, dockerInfo[0]!.Config.ExposedPorts);
  assert.deepEqual(kilnInfo[0]!.RootFS.Layers, dockerInfo[0]!.RootFS.Layers);
  assert.match(await kiln(root, ['store', 'verify']), /no problems/);
  // and back: kiln's save of the loaded image loads into docker as the same image
  const again = join(dir, 'again.tar');
  await kiln(root, ['save', '-o', again, 'from-docker:7']);
  await d.dockerOk(['rmi', 'from-docker:7', 'example.com/ns/from-docker:8']);
  await d.dockerOk(['load', '-i', again]);
  const back = JSON.parse((await d.dockerOk(['image', 'inspect', 'from-docker:7'])).stdout) as { Id: string }[];
  assert.equal(back[0]!.Id, id);
});
