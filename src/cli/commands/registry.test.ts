import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverDomain } from './registry.js';

test('serverDomain: docker login\'s forms, and a clear usage error for what is no registry address', () => {
  assert.equal(serverDomain(undefined), 'docker.io');
  assert.equal(serverDomain('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(serverDomain('http://127.0.0.1:5000/some/path'), '127.0.0.1:5000');
  assert.equal(serverDomain('[::1]:5000'), '[::1]:5000');
  assert.equal(serverDomain('registry.example.com'), 'registry.example.com');
  for (const bad of ['::::', 'a b', '127.0.0.1:99999', 'ftp://127.0.0.1', 'user:pw@host', 'https://']) {
    assert.throws(() => serverDomain(bad), (e: unknown) => (e as { code?: string }).code === 'USAGE' && /invalid registry address/.test((e as Error).message), bad);
  }
});
