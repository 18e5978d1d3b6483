// The real CLI against the real registry: kiln login/logout (Docker config format), kiln pull into
// the store, kiln push out of it; errors name the registry and never show the password.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runKiln } from './helpers/cli.js';
import { OciDir, makeImage, makeIndex } from './helpers/oci-layout.js';
import { type TestRegistry, type User, haveRegistry, startRegistry } from './helpers/registry.js';
import { prereq, which } from './helpers/prereq.js';

const run = promisify(execFile);
const HAVE = haveRegistry() && which('skopeo') !== undefined && which('htpasswd') !== undefined;
const WHAT = 'docker-registry, skopeo, htpasswd (bash scripts/ensure-deps.sh)';
const USER: User = { username: 'bob', password: 'Very-S3cret-pw' };

describe('cli: kiln login / pull / push / logout', () => {
  let reg: TestRegistry | undefined;
  let work: string;
  let env: Record<string, string>;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kiln-cli-reg-'));
    env = { DOCKER_CONFIG: join(work, 'docker'), KILN_ROOT: join(work, 'root') };
    if (HAVE) reg = await startRegistry({ basicAuth: [USER] });
  });
  after(async () => {
    await reg?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('wrong password: exit 1, REGISTRY_AUTH message naming the registry, no password anywhere', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const r = await runKiln(['login', '-u', USER.username, '--password-stdin', reg!.host], { env, input: 'wrong-Pa55-zzz\n' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`authentication to ${reg!.host.replace(/\./g, '\\.')} failed`));
    assert.match(r.stderr, /hint: run: kiln login/);
    assert.ok(!(r.stdout + r.stderr).includes('wrong-Pa55-zzz'));
    assert.throws(() => statSync(join(work, 'docker', 'config.json')), /ENOENT/);
  });

  test('login, push via skopeo, kiln pull (multi-platform), kiln push to another repo, logout', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const li = await runKiln(['login', '-u', USER.username, '--password-stdin', reg!.host], { env, input: USER.password + '\n' });
    assert.equal(li.code, 0, li.stderr);
    assert.equal(li.stdout, 'Login Succeeded\n');
    assert.ok(!(li.stdout + li.stderr).includes(USER.password));
    const cfgPath = join(work, 'docker', 'config.json');
    assert.equal(statSync(cfgPath).mode & 0o777, 0o600);
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(cfg.auths[reg!.host]!.auth, 'base64').toString(), `${USER.username}:${USER.password}`);

    // an index with two platforms, pushed by skopeo with the same credentials file
    const src = new OciDir(join(work, 'layout'));
    const amd = makeImage(src, { platform: { os: 'linux', architecture: 'amd64' }, layerSizes: [3000] });
    const arm = makeImage(src, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, layerSizes: [4000] });
    const index = makeIndex(src, [
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ]);
    src.writeIndex([{ desc: index, tag: 'v1' }]);
    await run('skopeo', ['--insecure-policy', 'copy', '--all', '--dest-tls-verify=false', '--dest-authfile', cfgPath, `oci:${src.dir}:v1`, `docker://${reg!.host}/team/app:v1`]);

    const p = await runKiln(['pull', '--platform', 'linux/arm64', `${reg!.host}/team/app:v1`], { env });
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /v1: Pulling from team\/app/);
    assert.match(p.stdout, new RegExp(`Digest: ${index.digest}`));
    assert.ok(p.stdout.endsWith(`${reg!.host}/team/app:v1\n`), p.stdout);
    const idx = JSON.parse(readFileSync(join(work, 'root', 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    const entry = idx.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === `${reg!.host}/team/app:v1`);
    assert.equal(entry?.digest, arm.manifest.digest);

    const again = await runKiln(['pull', '--platform', 'linux/arm64', `${reg!.host}/team/app:v1`], { env });
    assert.match(again.stdout, /Already exists/);
    assert.match(again.stdout, /Image is up to date/);

    const nf = await runKiln(['pull', `${reg!.host}/team/app:nope`], { env });
    assert.equal(nf.code, 1);
    assert.match(nf.stderr, new RegExp(`image ${reg!.host.replace(/\./g, '\\.')}/team/app:nope not found`));

    const bad = await runKiln(['pull', '--platform', 'linux/s390x', `${reg!.host}/team/app:v1`], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no manifest for platform linux\/s390x; available: linux\/amd64, linux\/arm64\/v8/);

    const pu = await runKiln(['push', `${reg!.host}/team/app:v1`, `${reg!.host}/team/copy:c1`, '--mount-from', 'team/app'], { env });
    assert.equal(pu.code, 0, pu.stderr);
    assert.match(pu.stdout, /The push refers to repository \[.*team\/copy\]/);
    assert.match(pu.stdout, /Mounted from/);
    assert.match(pu.stdout, new RegExp(`c1: digest: ${arm.manifest.digest} size: ${arm.manifest.size}`));
    const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--authfile', cfgPath, `docker://${reg!.host}/team/copy:c1`]);
    assert.equal((JSON.parse(stdout) as { Digest: string }).Digest, arm.manifest.digest);

    // a single-platform image is not another platform's: docker pull's error
    const other = await runKiln(['pull', '--platform', 'linux/amd64', `${reg!.host}/team/copy:c1`], { env });
    assert.equal(other.code, 1, other.stdout + other.stderr);
    assert.match(other.stderr, /does not match the specified platform: wanted linux\/amd64, actual: linux\/arm64\/v8/);
    // a damaged blob (another size than its descriptor) is fetched again, not "Already exists"
    const layer = (JSON.parse(readFileSync(join(work, 'root', 'blobs', 'sha256', arm.manifest.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] }).layers[0]!.digest;
    writeFileSync(join(work, 'root', 'blobs', 'sha256', layer.slice(7)), 'damaged');
    const repaired = await runKiln(['pull', '--platform', 'linux/arm64', `${reg!.host}/team/app:v1`], { env });
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.match(repaired.stdout, /Pull complete/);
    const verified = await runKiln(['store', 'verify'], { env });
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);

    const lo = await runKiln(['logout', reg!.host], { env });
    assert.equal(lo.code, 0);
    assert.equal(lo.stdout, `Removing login credentials for ${reg!.host}\n`);
    const anon = await runKiln(['pull', `${reg!.host}/team/app:v1`], { env });
    assert.equal(anon.code, 1);
    assert.match(anon.stderr, new RegExp(`authentication required by ${reg!.host.replace(/\./g, '\\.')}`));
  });

  test('bad reference: REFERENCE_INVALID, usage-free message', async () => {
    const r = await runKiln(['pull', 'Node:20'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid reference format: repository name \(library\/Node\) must be lowercase/);
  });
});
