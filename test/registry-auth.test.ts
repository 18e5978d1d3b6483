// Authentication against the real docker-registry: htpasswd basic auth, and token auth through an
// in-test token server (ES256 JWTs the registry verifies with a self-signed cert). Login writes
// Docker's config format; wrong credentials give REGISTRY_AUTH naming the registry, never the password.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError, formatError } from '../src/errors.js';
import { RegistryClient, dockerConfigCredentials, login, logout, parseNormalizedReference, pull, push } from '../src/registry/index.js';
import { OciDir, makeImage } from './helpers/oci-layout.js';
import { type TestRegistry, type User, haveRegistry, startRegistry } from './helpers/registry.js';
import { prereq, which } from './helpers/prereq.js';

const HAVE = haveRegistry() && which('htpasswd') !== undefined && which('openssl') !== undefined;
const WHAT = 'docker-registry, htpasswd (apache2-utils) and openssl (bash scripts/ensure-deps.sh)';
const USER: User = { username: 'alice', password: 's3cret-Pa55word!' };
const WRONG = 'not-the-Pa55word-xyz';

for (const mode of ['basic', 'token'] as const) {
  describe(`registry auth: ${mode}`, () => {
    let reg: TestRegistry | undefined;
    let work: string;
    let configPath: string;
    before(async () => {
      work = mkdtempSync(join(tmpdir(), `kiln-auth-${mode}-`));
      configPath = join(work, 'docker', 'config.json');
      if (HAVE) reg = await startRegistry(mode === 'basic' ? { basicAuth: [USER] } : { tokenAuth: [USER] });
    });
    after(async () => {
      await reg?.stop();
      rmSync(work, { recursive: true, force: true });
    });

    const noPassword = (e: unknown): void => {
      const text = `${(e as Error).message}\n${formatError(e as KilnError, { debug: true })}`;
      assert.ok(!text.includes(USER.password) && !text.includes(WRONG), 'no password in the error');
      assert.ok(!text.includes(Buffer.from(`${USER.username}:${WRONG}`).toString('base64')), 'no encoded credentials in the error');
    };

    test('wrong credentials: login fails with REGISTRY_AUTH naming the registry, nothing saved', async (t) => {
      if (!prereq(t, HAVE, WHAT)) return;
      await assert.rejects(login(reg!.host, { username: USER.username, password: WRONG }, { config: { path: configPath } }), (e: unknown) => {
        assert.ok(e instanceof KilnError);
        assert.equal(e.code, 'REGISTRY_AUTH');
        assert.ok(e.message.includes(reg!.host), e.message);
        noPassword(e);
        return true;
      });
      assert.throws(() => statSync(configPath), /ENOENT/);
    });

    test('anonymous push is refused with REGISTRY_AUTH and a login hint', async (t) => {
      if (!prereq(t, HAVE, WHAT)) return;
      const src = new OciDir(join(work, 'anon'));
      const img = makeImage(src, { layerSizes: [10] });
      const c = new RegistryClient(reg!.host, { retry: { baseDelayMs: 5 } });
      await assert.rejects(push(c, parseNormalizedReference(`${reg!.host}/team/app:1`), img.manifest, src), (e: unknown) => {
        assert.ok(e instanceof KilnError && e.code === 'REGISTRY_AUTH', String(e));
        assert.ok(e.message.includes(reg!.host));
        assert.match(e.details.hint ?? '', /kiln login/);
        return true;
      });
      c.close();
    });

    test('login saves Docker-format credentials (0600); push and pull use them; logout removes them', async (t) => {
      if (!prereq(t, HAVE, WHAT)) return;
      const path = await login(reg!.host, USER, { config: { path: configPath } });
      assert.equal(path, configPath);
      assert.equal(statSync(configPath).mode & 0o777, 0o600);
      const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as { auths: Record<string, { auth: string }> };
      assert.equal(Buffer.from(cfg.auths[reg!.host]!.auth, 'base64').toString(), `${USER.username}:${USER.password}`);

      const src = new OciDir(join(work, 'src'));
      const img = makeImage(src, { layerSizes: [3000, 20_000] });
      const c = new RegistryClient(reg!.host, { credentials: dockerConfigCredentials({ path: configPath }), retry: { baseDelayMs: 5 } });
      const ref = parseNormalizedReference(`${reg!.host}/team/app:1`);
      const res = await push(c, ref, img.manifest, src);
      assert.equal(res.digest, img.manifest.digest);
      const dst = new OciDir(join(work, 'dst'));
      const pulled = await pull(c, ref, dst, { platform: 'linux/amd64' });
      assert.equal(pulled.manifest.digest, img.manifest.digest);
      for (const l of img.layers) assert.deepEqual(dst.read(l.digest), src.read(l.digest));
      if (mode === 'token') {
        const ts = reg!.tokenServer!;
        assert.ok(ts.requests.some((r) => r.account === USER.username && r.scopes.includes('repository:team/app:pull,push')), JSON.stringify(ts.requests));
        // tokens are cached per scope: a handful of token requests, not one per blob
        assert.ok(c.auth.tokenRequests <= 4, `token requests: ${c.auth.tokenRequests}`);
      }
      c.close();

      assert.equal(await logout(reg!.host, { config: { path: configPath } }), true);
      const after = JSON.parse(readFileSync(configPath, 'utf8')) as { auths: Record<string, unknown> };
      assert.equal(after.auths[reg!.host], undefined);
      assert.equal(await logout(reg!.host, { config: { path: configPath } }), false);
    });

    test('a token the registry rejects is dropped and fetched again (refresh on 401)', async (t) => {
      if (!prereq(t, HAVE, WHAT)) return;
      if (mode !== 'token') return; // basic auth has no tokens; the same path is covered above
      const ts = reg!.tokenServer!;
      const c = new RegistryClient(reg!.host, { credentials: async () => USER, retry: { baseDelayMs: 5 } });
      const ref = parseNormalizedReference(`${reg!.host}/team/app:1`);
      await pull(c, ref, new OciDir(join(work, 'warm')), { platform: 'linux/amd64' });
      const before = c.auth.tokenRequests;
      ts.control.expireNext = 1;
      // force a fresh token for a new scope set: the first one comes back expired
      const src = new OciDir(join(work, 'refresh-src'));
      const img = makeImage(src, { layerSizes: [50] });
      const res = await push(c, parseNormalizedReference(`${reg!.host}/team/refresh:1`), img.manifest, src);
      assert.equal(res.digest, img.manifest.digest);
      assert.equal(ts.control.expireNext, 0, 'the expired token was issued and used');
      assert.ok(c.auth.tokenRequests >= before + 2, `token requests ${before} → ${c.auth.tokenRequests}`);
      c.close();
    });

    test('identity token: OAuth2 refresh_token POST to the token server', async (t) => {
      if (!prereq(t, HAVE, WHAT)) return;
      if (mode !== 'token') return; // identity tokens only exist with token auth
      const ts = reg!.tokenServer!;
      const c = new RegistryClient(reg!.host, { credentials: async () => ({ identityToken: `refresh-${USER.username}` }), retry: { baseDelayMs: 5 } });
      const src = new OciDir(join(work, 'idtok'));
      const img = makeImage(src, { layerSizes: [70] });
      const n = ts.requests.length;
      const res = await push(c, parseNormalizedReference(`${reg!.host}/team/idtok:1`), img.manifest, src);
      assert.equal(res.digest, img.manifest.digest);
      const mine = ts.requests.slice(n);
      assert.ok(mine.length > 0 && mine.every((r) => r.method === 'POST' && r.account === USER.username), JSON.stringify(mine));
      c.close();
      const bad = new RegistryClient(reg!.host, { credentials: async () => ({ identityToken: 'refresh-nobody' }), retry: { baseDelayMs: 5 } });
      await assert.rejects(pull(bad, parseNormalizedReference(`${reg!.host}/team/idtok:1`), new OciDir(join(work, 'idtok2'))), (e: unknown) => {
        assert.ok(e instanceof KilnError && e.code === 'REGISTRY_AUTH', String(e));
        assert.ok(!e.message.includes('refresh-nobody'));
        return true;
      });
      bad.close();
    });

    test('credentials that stop working: REGISTRY_AUTH, no password shown', async (t) => {
      if (!prereq(t, HAVE, WHAT)) return;
      const c = new RegistryClient(reg!.host, { credentials: async () => ({ username: USER.username, password: WRONG }), retry: { baseDelayMs: 5 } });
      await assert.rejects(pull(c, parseNormalizedReference(`${reg!.host}/team/app:1`), new OciDir(join(work, 'x'))), (e: unknown) => {
        assert.ok(e instanceof KilnError && e.code === 'REGISTRY_AUTH', String(e));
        assert.ok(e.message.includes(reg!.host));
        noPassword(e);
        return true;
      });
      c.close();
    });
  });
}
