// ADD from http(s) URLs end to end (real CLI, FROM scratch, -o type=local): BuildKit's file name,
// mode 0600 and the Last-Modified time, --checksum, redirects, HTTP errors at their Dockerfile line,
// and https with a private CA that only NODE_EXTRA_CA_CERTS names (bin/kiln hands that file to
// kiln instead of Node's start-up: test/launcher.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKiln } from '../helpers/cli.js';
import { isRoot, prereq, which } from '../helpers/prereq.js';

const BODY = 'downloaded by ADD\n';
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';
let work = '';
let root = '';
let plain: http.Server | undefined;
let secure: https.Server | undefined;
let caFile = '';
let httpBase = '';
let httpsBase = '';
const ready = isRoot && which('openssl') !== undefined;

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url === '/files/hello.txt' || req.url === '/') res.writeHead(200, { 'last-modified': LAST_MODIFIED }).end(BODY);
  else if (req.url === '/moved') res.writeHead(302, { location: '/files/hello.txt' }).end();
  else res.writeHead(404).end('no such file\n');
}

const listen = async (s: net.Server): Promise<number> => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
};

before(async () => {
  if (!ready) return;
  work = mkdtempSync(join(tmpdir(), 'kiln-add-url-'));
  root = join(work, 'root');
  const key = join(work, 'key.pem');
  caFile = join(work, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', caFile,
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'], { stdio: 'ignore' });
  plain = http.createServer(handler);
  secure = https.createServer({ key: readFileSync(key), cert: readFileSync(caFile) }, handler);
  httpBase = `http://127.0.0.1:${await listen(plain)}`;
  httpsBase = `https://127.0.0.1:${await listen(secure)}`;
});

after(() => {
  plain?.close();
  secure?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Builds a FROM scratch Dockerfile into a directory; returns the CLI result and the output dir. */
async function build(name: string, lines: string[], env: Record<string, string | undefined> = {}) {
  const ctx = join(work, `${name}-ctx`);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), ['FROM scratch', ...lines, ''].join('\n'));
  const out = join(work, `${name}-out`);
  const r = await runKiln(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx], { env: { KILN_ROOT: root, CI: undefined, ...env } });
  return { r, out };
}

test('ADD URL: the file is named from the URL, mode 0600, Last-Modified as mtime; redirects and --checksum', async (t) => {
  if (!prereq(t, ready, 'root and openssl')) return;
  const sum = createHash('sha256').update(BODY).digest('hex');
  const { r, out } = await build('plain', [
    `ADD ${httpBase}/files/hello.txt /a/`,
    `ADD --checksum=sha256:${sum} ${httpBase}/moved /b/`,
    `ADD ${httpBase}/ /c/`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(out, 'a', 'hello.txt'), 'utf8'), BODY);
  const st = lstatSync(join(out, 'a', 'hello.txt'));
  assert.equal(st.mode & 0o7777, 0o600);
  assert.equal(Math.trunc(st.mtimeMs / 1000), Date.parse(LAST_MODIFIED) / 1000);
  // a redirect is followed; the name comes from the URL as written
  assert.equal(readFileSync(join(out, 'b', 'moved'), 'utf8'), BODY);
  assert.equal(readFileSync(join(out, 'c', '__unnamed__'), 'utf8'), BODY);
});

test('ADD URL: a wrong --checksum and an HTTP error fail at their line', async (t) => {
  if (!prereq(t, ready, 'root and openssl')) return;
  const zero = '0'.repeat(64);
  const bad = await build('bad-sum', [`ADD --checksum=sha256:${zero} ${httpBase}/files/hello.txt /x`]);
  assert.notEqual(bad.r.code, 0);
  assert.match(bad.r.stderr, /Dockerfile:2/);
  assert.match(bad.r.stderr, /digest mismatch/);
  const missing = await build('missing', ['WORKDIR /w', `ADD ${httpBase}/nothing-here /x`]);
  assert.notEqual(missing.r.code, 0);
  assert.match(missing.r.stderr, /Dockerfile:3/);
  assert.match(missing.r.stderr, /invalid response status 404/);
});

test('ADD https URL: a private CA is trusted when NODE_EXTRA_CA_CERTS names it, and only then', async (t) => {
  if (!prereq(t, ready, 'root and openssl')) return;
  const lines = [`ADD ${httpsBase}/files/hello.txt /s/`];
  const untrusted = await build('tls-no', lines, { NODE_EXTRA_CA_CERTS: undefined, KILN_EXTRA_CA_CERTS: undefined });
  assert.notEqual(untrusted.r.code, 0);
  assert.match(untrusted.r.stderr, /Dockerfile:2/);
  assert.match(untrusted.r.stderr, /NODE_EXTRA_CA_CERTS/);
  const trusted = await build('tls-yes', lines, { NODE_EXTRA_CA_CERTS: caFile, KILN_EXTRA_CA_CERTS: undefined });
  assert.equal(trusted.r.code, 0, trusted.r.stderr);
  assert.equal(readFileSync(join(trusted.out, 's', 'hello.txt'), 'utf8'), BODY);
});
