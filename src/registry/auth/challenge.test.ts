import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeScopes, parseWwwAuthenticate } from './challenge.js';

test('Bearer challenge with realm, service, scope (Docker Hub style)', () => {
  assert.deepEqual(
    parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/node:pull"'),
    [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/node:pull' } }],
  );
});

test('insufficient_scope error, escaped quotes, spaces around =', () => {
  const [c] = parseWwwAuthenticate('Bearer realm = "http://a/token", error="insufficient_scope", scope="repository:a/b:pull,push", x="q\\"uote"');
  assert.equal(c!.params['scope'], 'repository:a/b:pull,push');
  assert.equal(c!.params['error'], 'insufficient_scope');
  assert.equal(c!.params['x'], 'q"uote');
  assert.equal(c!.params['realm'], 'http://a/token');
});

test('Basic, several challenges in one header and across headers, token68', () => {
  assert.deepEqual(parseWwwAuthenticate('Basic realm="kiln-test"'), [{ scheme: 'basic', params: { realm: 'kiln-test' } }]);
  const many = parseWwwAuthenticate(['Basic realm="r1", Bearer realm="http://t/token",service=s', 'Negotiate abc123==']);
  assert.deepEqual(many.map((c) => c.scheme), ['basic', 'bearer', 'negotiate']);
  assert.equal(many[1]!.params['service'], 's');
  assert.equal(many[2]!.params['token68'], 'abc123==');
  assert.deepEqual(parseWwwAuthenticate(''), []);
});

test('scopes merge per resource', () => {
  assert.deepEqual(mergeScopes(['repository:a:pull', 'repository:a:push', 'repository:b:pull', 'registry:catalog:*']), [
    'repository:a:pull,push',
    'repository:b:pull',
    'registry:catalog:*',
  ]);
  assert.deepEqual(mergeScopes(['repository:a:pull repository:c:pull']), ['repository:a:pull', 'repository:c:pull']);
});
