// Faults the real registry cannot produce on demand, injected by a proxy in front of it:
// 5xx and 429 (retried), a connection cut mid-blob (resumed with Range), corrupted bytes
// (DIGEST_MISMATCH, nothing stored), a 404 manifest (IMAGE_NOT_FOUND naming the reference).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../src/errors.js';
import { Store } from '../src/store/index.js';
import { RegistryClient, parseNormalizedReference, pull, push } from '../src/registry/index.js';
import { type Fault, type FaultProxy, type ProxyRequest, startFaultProxy } from './helpers/fault-proxy.js';
import { OciDir, type TestImage, makeImage } from './helpers/oci-layout.js';
import { type TestRegistry, haveRegistry, startRegistry } from './helpers/registry.js';
import { prereq } from './helpers/prereq.js';

const HAVE = haveRegistry();
const WHAT = 'docker-registry (bash scripts/ensure-deps.sh)';

describe('registry faults (proxy in front of docker-registry)', () => {
  let reg: TestRegistry | undefined;
  let proxy: FaultProxy | undefined;
  let work: string;
  let img: TestImage;
  let big: string; // digest of the big layer
  const REPO = 'faults/app';
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kiln-faults-'));
    if (!HAVE) return;
    reg = await startRegistry();
    proxy = await startFaultProxy(reg.port);
    const src = new OciDir(join(work, 'src'));
    img = makeImage(src, { layerSizes: [1000, 400_000] });
    big = img.layers[1]!.digest;
    const c = new RegistryClient(reg.host);
    await push(c, parseNormalizedReference(`${reg.host}/${REPO}:v1`), img.manifest, src);
    c.close();
  });
  after(async () => {
    await proxy?.close();
    await reg?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  let n = 0;
  const fresh = (): OciDir => new OciDir(join(work, `dst${++n}`));
  const client = (attempts = 5): RegistryClient => new RegistryClient(proxy!.host, { retry: { attempts, baseDelayMs: 5 } });
  const ref = () => parseNormalizedReference(`${proxy!.host}/${REPO}:v1`);

  test('500s then success: retried, pull completes', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    let manifestGets = 0;
    let blobGets = 0;
    proxy!.fault = (r) => {
      if (r.method === 'GET' && r.path.includes('/manifests/') && ++manifestGets <= 2) return { status: 500, body: '{"errors":[{"code":"UNKNOWN","message":"boom"}]}' };
      if (r.method === 'GET' && r.path.endsWith(big) && ++blobGets <= 1) return { status: 503 };
      if (r.method === 'GET' && r.path.endsWith(img.config.digest)) return undefined;
      return undefined;
    };
    const dst = fresh();
    const res = await pull(client(), ref(), dst, { platform: 'linux/amd64' });
    assert.equal(res.manifest.digest, img.manifest.digest);
    assert.equal(manifestGets, 3);
    assert.equal(blobGets, 2);
    assert.ok(await dst.has(big as never));
  });

  test('429 with Retry-After is honoured', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    let hits = 0;
    proxy!.fault = (r) => (r.path.includes('/manifests/') && ++hits === 1 ? { status: 429, headers: { 'retry-after': '0' } } : undefined);
    const res = await pull(client(), ref(), fresh(), { platform: 'linux/amd64' });
    assert.equal(res.manifest.digest, img.manifest.digest);
    assert.equal(hits, 2);
  });

  test('persistent 500s: bounded attempts, then REGISTRY_HTTP', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    let hits = 0;
    proxy!.fault = (r) => (r.path.includes('/manifests/') ? (hits++, { status: 502 }) : undefined);
    await assert.rejects(pull(client(3), ref(), fresh()), (e: unknown) => e instanceof KilnError && e.code === 'REGISTRY_HTTP' && /502/.test(e.message));
    assert.equal(hits, 3);
  });

  test('connection cut mid-blob: resumed with Range from the byte reached', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    let gets = 0;
    proxy!.fault = (r) => (r.method === 'GET' && r.path.endsWith(big) && ++gets === 1 ? { cutAfter: 100_000 } : undefined);
    const dst = fresh();
    const res = await pull(client(), ref(), dst, { platform: 'linux/amd64' });
    assert.equal(res.manifest.digest, img.manifest.digest);
    const blobReqs = proxy!.log.filter((r) => r.path.endsWith(big));
    const last = blobReqs[blobReqs.length - 1]!;
    const m = /^bytes=(\d+)-$/.exec(String(last.headers.range));
    assert.ok(m, `resume request has a Range header: ${String(last.headers.range)}`);
    assert.ok(Number(m[1]) > 0 && Number(m[1]) <= 100_000, `resumed from ${m[1]}`);
    assert.ok(await dst.has(big as never));
    assert.deepEqual(dst.read(big as never).length, img.layers[1]!.size);
  });

  test('wrong bytes: DIGEST_MISMATCH and nothing stored for that blob', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    proxy!.fault = (r) => (r.method === 'GET' && r.path.endsWith(big) ? { corrupt: true } : undefined);
    const dst = Store.open(join(work, 'store-corrupt'));
    // as `kiln pull` runs it: the Store alone verifies the layers
    await assert.rejects(pull(client(), ref(), dst, { platform: 'linux/amd64', verifyLayers: false }), (e: unknown) => e instanceof KilnError && e.code === 'DIGEST_MISMATCH' && e.message.includes(big));
    assert.equal(await dst.has(big as never), false);
    assert.equal(await dst.has(img.manifest.digest), false, 'no manifest without its blobs');
    // and kiln's own check fires even for a sink that would keep anything
    const lax = { has: async () => false, ingest: async (s: NodeJS.ReadableStream) => { for await (const _ of s) { /* drain */ } return { digest: big as never, size: 0 }; } };
    await assert.rejects(pull(client(), ref(), lax, { platform: 'linux/amd64' }), (e: unknown) => e instanceof KilnError && e.code === 'DIGEST_MISMATCH');
  });

  test('404 manifest: IMAGE_NOT_FOUND with the reference in the message', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    proxy!.fault = (r) => (r.path.includes('/manifests/') ? { status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}' } : undefined);
    await assert.rejects(pull(client(), ref(), fresh()), (e: unknown) => e instanceof KilnError && e.code === 'IMAGE_NOT_FOUND' && e.message.includes(`${proxy!.host}/${REPO}:v1`));
  });

  test('push: a failed upload PUT (500) is retried with a new upload', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    let puts = 0;
    proxy!.fault = (r) => (r.method === 'PUT' && r.path.includes('/blobs/uploads/') && ++puts === 1 ? { status: 500 } : undefined);
    const src = new OciDir(join(work, 'push-src'));
    const other = makeImage(src, { layerSizes: [5000] });
    const res = await push(client(), parseNormalizedReference(`${proxy!.host}/faults/pushed:1`), other.manifest, src);
    assert.equal(res.digest, other.manifest.digest);
    assert.ok(puts >= 2);
    proxy!.fault = () => undefined;
    const c = new RegistryClient(reg!.host);
    for (const l of other.layers) assert.equal(await c.hasBlob('faults/pushed', l.digest), true);
    c.close();
  });

  const chunkedPush = async (fault: Fault): Promise<ProxyRequest[]> => {
    let patches = 0;
    proxy!.fault = (r) => (r.method === 'PATCH' && ++patches === 2 ? fault : undefined);
    const src = new OciDir(join(work, `chunk-src-${Date.now()}`));
    const other = makeImage(src, { layerSizes: [60_000] });
    const startLog = proxy!.log.length;
    const ref = parseNormalizedReference(`${proxy!.host}/faults/chunked:1`);
    const res = await push(client(), ref, other.manifest, src, { chunkThreshold: 1, chunkSize: 16_384 });
    assert.equal(res.digest, other.manifest.digest);
    const mine = proxy!.log.slice(startLog);
    proxy!.fault = () => undefined;
    const out = new OciDir(join(work, `chunk-out-${Date.now()}`));
    const back = await pull(client(), ref, out, { platform: 'linux/amd64' });
    assert.equal(back.manifest.digest, other.manifest.digest);
    assert.deepEqual(out.read(other.layers[0]!.digest), src.read(other.layers[0]!.digest));
    return mine;
  };

  test('chunked push: a 500 on a PATCH resumes the same upload from the registry\'s offset', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const log = await chunkedPush({ status: 500 });
    assert.ok(log.some((r) => r.method === 'GET' && r.path.includes('/blobs/uploads/')), 'asked the registry for the upload status');
    assert.equal(log.filter((r) => r.method === 'POST').length, 2, 'one upload session per blob (layer + config): resumed, not restarted');
  });

  test('chunked push: a connection cut inside a PATCH still completes the push', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    // distribution 2.8 cancels an upload whose size no longer matches its state after a partial
    // PATCH, so kiln finds the session gone and restarts that blob with a new upload
    const log = await chunkedPush({ cutRequestAfter: 6000 });
    assert.ok(log.some((r) => r.method === 'GET' && r.path.includes('/blobs/uploads/')), 'asked the registry for the upload status');
    assert.equal(log.filter((r) => r.method === 'POST').length, 3, 'the broken blob was restarted once');
  });

  test('unreachable registry: REGISTRY_UNREACHABLE naming it', async (t) => {
    if (!prereq(t, HAVE, WHAT)) return;
    const c = new RegistryClient('127.0.0.1:1', { retry: { attempts: 2, baseDelayMs: 1 } });
    await assert.rejects(pull(c, parseNormalizedReference('127.0.0.1:1/x/y:z'), fresh()), (e: unknown) => e instanceof KilnError && e.code === 'REGISTRY_UNREACHABLE' && e.message.includes('127.0.0.1:1'));
  });
});
