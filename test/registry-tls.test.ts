// HTTPS with a registry CA from certs.d (as dockerd reads /etc/docker/certs.d/HOST/ca.crt), and the
// plain-HTTP rules (loopback, --insecure-registry).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../src/errors.js';
import { RegistryClient, Transport, isLoopbackHost } from '../src/registry/index.js';
import { prereq, which } from './helpers/prereq.js';

test('scheme: loopback and --insecure-registry hosts use HTTP, the rest HTTPS', () => {
  const t = new Transport({ insecureRegistries: ['myreg.lan:5000', 'other.lan'] });
  for (const h of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.8.9.10', '[::1]:5000']) {
    assert.ok(isLoopbackHost(h), h);
    assert.equal(t.scheme(h), 'http', h);
  }
  assert.equal(t.scheme('myreg.lan:5000'), 'http');
  assert.equal(t.scheme('other.lan:443'), 'http');
  assert.equal(t.scheme('myreg.lan:6000'), 'https');
  assert.equal(t.scheme('ghcr.io'), 'https');
  assert.equal(t.scheme('128.0.0.1'), 'https');
  assert.equal(new RegistryClient('docker.io').base.host, 'registry-1.docker.io');
  t.close();
});

test('HTTPS trusts certs.d/HOST/ca.crt; without it the error says where to put the CA', async (t) => {
  if (!prereq(t, which('openssl') !== undefined, 'openssl')) return;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-tls-'));
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'], { stdio: 'ignore' });
  const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const url = new URL(`https://127.0.0.1:${port}/v2/`);
    const certsDir = join(dir, 'certs.d');
    const bare = new Transport({ certsDir });
    await assert.rejects(bare.request({ method: 'GET', url }), (e: unknown) => {
      const k = new RegistryClient('reg.example', { certsDir }).unreachable(e, url);
      assert.equal(k.code, 'REGISTRY_UNREACHABLE');
      assert.match(k.details.hint ?? '', /certs\.d\/reg\.example\/ca\.crt/);
      return true;
    });
    bare.close();
    mkdirSync(join(certsDir, `127.0.0.1:${port}`), { recursive: true });
    execFileSync('cp', [cert, join(certsDir, `127.0.0.1:${port}`, 'ca.crt')]);
    const trusting = new Transport({ certsDir });
    const res = await trusting.request({ method: 'GET', url });
    res.body.resume();
    assert.equal(res.status, 200);
    trusting.close();
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KilnError type guard sanity for unreachable', () => {
  const k = new RegistryClient('127.0.0.1:9').unreachable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), new URL('http://127.0.0.1:9/v2/'));
  assert.ok(k instanceof KilnError && k.message.includes('127.0.0.1:9') && k.message.includes('ECONNREFUSED'));
});
