// The private Docker 26 engine helper (test/helpers/dockerd.ts) that differential tests
// compare kiln with: it starts, loads an image made here without any registry, runs a
// container, and stops without leaving dockerd, containerd or mounts behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needDockerd, startDockerd } from './helpers/dockerd.js';
import { baseImage, dockerLoad, writeOciLayout, type FixtureImage } from './helpers/base-images.js';
import { haveBusybox, makeBusyboxRootfs } from './helpers/busybox-rootfs.js';
import { needCommand, prereq } from './helpers/prereq.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a private dockerd loads a busybox image made without a registry, runs it, and stops cleanly', { timeout: 240_000 }, async (t) => {
  if (!needDockerd(t)) return;
  const skopeo = needCommand(t, 'skopeo');
  if (skopeo === undefined) return;
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-dockerd-test-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));

  // busybox:latest from scripts/make-base-images.sh when it has been built, else the same
  // kind of rootfs made here from busybox-static
  let img: FixtureImage | undefined = baseImage('busybox', 'latest');
  if (img === undefined) {
    if (!prereq(t, haveBusybox(), 'busybox-static (/bin/busybox)')) return;
    const rootfs = makeBusyboxRootfs(join(tmp, 'rootfs'));
    const layer = join(tmp, 'busybox.tar');
    const tar = spawnSync('tar', ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', layer, 'bin', 'etc', 'home', 'root', 'tmp'], {
      encoding: 'utf8',
    });
    assert.equal(tar.status, 0, tar.stderr);
    img = { ref: 'busybox:latest', layers: [layer], config: { Cmd: ['sh'] } };
  }
  const layout = join(tmp, 'oci');
  await writeOciLayout(layout, [img]);
  const archive = join(tmp, 'busybox-docker-archive.tar');
  const copy = spawnSync(skopeo, ['--insecure-policy', 'copy', '-q', `oci:${layout}:busybox:latest`, `docker-archive:${archive}:kiln-test/busybox:latest`], {
    encoding: 'utf8',
  });
  assert.equal(copy.status, 0, `skopeo copy failed: ${copy.stderr}`);

  const d = await startDockerd({ insecureRegistryPort: 5999 });
  let containerdPid: number | undefined;
  try {
    assert.match(d.host, /^unix:\/\/\/tmp\/.*\/docker\.sock$/);
    const info = await d.dockerOk(['info', '--format', '{{.ServerVersion}} {{.Driver}} {{.DockerRootDir}}']);
    const [version, driver, root] = info.stdout.trim().split(' ');
    assert.ok(Number(version?.split('.')[0]) >= 26, `server version ${version}`);
    assert.equal(driver, 'overlay2');
    assert.ok(root?.startsWith(d.dir + '/'), `data-root ${root} is private (under ${d.dir})`);
    const pidText = readFileSync(join(d.dir, 'exec', 'containerd', 'containerd.pid'), 'utf8').trim();
    containerdPid = Number(pidText);
    assert.ok(alive(containerdPid), 'dockerd runs its own containerd');

    const load = await d.dockerOk(['load', '-i', archive]);
    assert.match(load.stdout, /Loaded image: kiln-test\/busybox:latest/);
    const run = await d.dockerOk(['run', '--rm', '--network', 'none', 'kiln-test/busybox:latest', 'echo', 'hello']);
    assert.equal(run.stdout, 'hello\n');
    // --rm removed the container; the image stays
    const ps = await d.dockerOk(['ps', '-aq']);
    assert.equal(ps.stdout.trim(), '');
    // the same image loaded straight from its layer tarballs (no gzip, no skopeo) has the
    // same layers (diffIDs) as the one that went through the OCI layout and skopeo
    const fixture = img;
    await dockerLoad(d, [fixture], tmp, () => 'kiln-test/busybox:direct');
    const layersOf = async (ref: string) =>
      JSON.parse((await d.dockerOk(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref])).stdout) as string[];
    const viaSkopeo = await layersOf('kiln-test/busybox:latest');
    assert.equal(viaSkopeo.length, fixture.layers.length);
    assert.deepEqual(await layersOf('kiln-test/busybox:direct'), viaSkopeo);
    const direct = await d.dockerOk(['run', '--rm', '--network', 'none', 'kiln-test/busybox:direct', 'sh', '-c', 'echo direct $(id -u)']);
    assert.equal(direct.stdout, 'direct 0\n');
    const bad = await d.docker(['run', '--rm', '--network', 'none', 'kiln-test/busybox:latest', 'sh', '-c', 'exit 3']);
    assert.equal(bad.code, 3, 'the container exit code comes through');
  } finally {
    await d.stop();
  }
  assert.ok(!alive(d.pid), 'dockerd stopped');
  if (containerdPid !== undefined) assert.ok(!alive(containerdPid), 'its containerd stopped');
  assert.ok(!existsSync(d.dir), 'temp dir removed');
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(d.dir), 'no mounts left under the temp dir');
});
