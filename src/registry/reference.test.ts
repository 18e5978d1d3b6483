import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import {
  familiarName,
  familiarString,
  formatReference,
  parseNormalizedReference,
  parseReference,
  referenceObject,
} from './reference.js';

const HEX = 'a'.repeat(64);
const D = `sha256:${HEX}`;

// [input, fully qualified normalised form (with default tag), familiar form]
const valid: [string, string, string][] = [
  ['node', 'docker.io/library/node:latest', 'node:latest'],
  ['node:20', 'docker.io/library/node:20', 'node:20'],
  ['library/node', 'docker.io/library/node:latest', 'node:latest'],
  ['docker.io/node', 'docker.io/library/node:latest', 'node:latest'],
  ['docker.io/library/node:20-alpine', 'docker.io/library/node:20-alpine', 'node:20-alpine'],
  ['index.docker.io/node', 'docker.io/library/node:latest', 'node:latest'],
  ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
  ['docker.io/library/a/b', 'docker.io/library/a/b:latest', 'library/a/b:latest'],
  ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
  ['localhost:5000/app:1.0', 'localhost:5000/app:1.0', 'localhost:5000/app:1.0'],
  ['127.0.0.1:5000/ns/app', '127.0.0.1:5000/ns/app:latest', '127.0.0.1:5000/ns/app:latest'],
  ['[::1]:5000/app', '[::1]:5000/app:latest', '[::1]:5000/app:latest'],
  ['[fe80::1]/app:v1', '[fe80::1]/app:v1', '[fe80::1]/app:v1'],
  ['example.com/a/b/c:tag', 'example.com/a/b/c:tag', 'example.com/a/b/c:tag'],
  ['Example.COM/app', 'Example.COM/app:latest', 'Example.COM/app:latest'],
  ['ghcr.io/o/r@' + D, 'ghcr.io/o/r@' + D, 'ghcr.io/o/r@' + D],
  ['node:20@' + D, 'docker.io/library/node:20@' + D, 'node:20@' + D],
  ['node@' + D, 'docker.io/library/node@' + D, 'node@' + D],
  ['a_b-c__d---e/f.g', 'docker.io/a_b-c__d---e/f.g:latest', 'a_b-c__d---e/f.g:latest'],
  ['xn--bcher-kva.example/x', 'xn--bcher-kva.example/x:latest', 'xn--bcher-kva.example/x:latest'],
  ['a:' + 'T'.repeat(128), 'docker.io/library/a:' + 'T'.repeat(128), 'a:' + 'T'.repeat(128)],
  ['sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com/bar/baz/quux:latest', 'sub-dom1.foo.com/bar/baz/quux:latest'],
  ['Docker/foo', 'Docker/foo:latest', 'Docker/foo:latest'],
];

test('valid references normalise like docker', () => {
  for (const [input, full, familiar] of valid) {
    const ref = parseNormalizedReference(input);
    assert.equal(formatReference(ref), full, input);
    assert.equal(familiarString(ref), familiar, input);
  }
});

test('parts: domain, path, tag, digest, object', () => {
  const r = parseReference(`localhost:5000/ns/app:v2@${D}`);
  assert.deepEqual(r, { domain: 'localhost:5000', path: 'ns/app', tag: 'v2', digest: D });
  assert.equal(referenceObject(r), D);
  assert.equal(referenceObject(parseNormalizedReference('node')), 'latest');
  assert.equal(parseReference('node').tag, undefined);
  assert.equal(familiarName(parseReference('docker.io/library/node')), 'node');
  assert.equal(familiarName(parseReference('docker.io/user/node')), 'user/node');
});

const invalidRefs: [string, RegExp][] = [
  ['', /at least one component/],
  ['Node', /must be lowercase/],
  ['library/Node:20', /must be lowercase/],
  ['localhost:5000/App', /must be lowercase/],
  [HEX, /64-byte hexadecimal/],
  ['node:', /not a valid/],
  [':tag', /not a valid/],
  ['node:-tag', /not a valid/],
  ['node:' + 'a'.repeat(129), /not a valid/],
  ['a/' + 'b'.repeat(255), /more than 255 characters/],
  ['node@sha256:abc', /invalid digest/],
  ['node@sha256:' + 'A'.repeat(64), /malformed digest/],
  ['node@md5:' + 'a'.repeat(32), /malformed digest/],
  ['-node', /not a valid/],
  ['node-', /not a valid/],
  ['a//b', /not a valid/],
  ['a/b/', /not a valid/],
  ['http://example.com/x', /registry host/],
  ['example.com:port/x', /registry host/],
  ['a..b', /not a valid/],
  ['a b', /not a valid/],
  ['[::1/x', /registry host/],
  ['foo_bar.com:8080/x', /registry host/],
];

test('invalid references throw REFERENCE_INVALID with the reason', () => {
  for (const [input, why] of invalidRefs) {
    assert.throws(
      () => parseReference(input),
      (e: unknown) => e instanceof KilnError && e.code === 'REFERENCE_INVALID' && why.test(e.message),
      `${JSON.stringify(input)} should be rejected with ${why}`,
    );
  }
});

test('name length counts the normalised name (docker.io/library/ included)', () => {
  const n = 'a'.repeat(255 - 'docker.io/library/'.length);
  assert.equal(parseReference(n).path, `library/${n}`);
  assert.throws(() => parseReference(n + 'a'), /255/);
});
