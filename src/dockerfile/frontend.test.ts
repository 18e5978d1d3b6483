// `# syntax=`: docker/dockerfile in any spelling is kiln's own frontend; anything else is refused
// at the directive's line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { checkFrontend, isDockerfileFrontend } from './frontend.js';
import { parse } from './parser.js';

test('docker/dockerfile with any tag, digest, registry spelling, and -upstream is the built-in frontend', () => {
  for (const ref of [
    'docker/dockerfile',
    'docker/dockerfile:1',
    'docker/dockerfile:1.7-labs',
    'docker.io/docker/dockerfile:1.4',
    `docker/dockerfile:1@sha256:${'a'.repeat(64)}`,
    `docker/dockerfile@sha256:${'0'.repeat(64)}`,
    'docker/dockerfile-upstream:master',
    ' docker/dockerfile:1 ',
  ]) assert.equal(isDockerfileFrontend(ref), true, ref);
  for (const ref of ['example.com/custom/frontend:latest', 'docker/dockerfilex', 'tonistiigi/dockerfile:master', 'docker/dockerfile:1 extra', 'evil.io/docker/dockerfile:1', 'docker/Dockerfile:1', '']) {
    assert.equal(isDockerfileFrontend(ref), false, ref);
  }
});

test('another frontend is NOT_IMPLEMENTED at its line; BUILDKIT_SYNTAX wins over the directive', () => {
  const ast = parse('# escape=\\\n# syntax=example.com/custom/frontend:latest\nFROM busybox\n', { file: 'Dockerfile' });
  assert.throws(
    () => checkFrontend(ast),
    (e: unknown) => e instanceof KilnError && e.code === 'NOT_IMPLEMENTED' && e.location?.[0]?.startLine === 2 && /"example\.com\/custom\/frontend:latest" \(# syntax=\) is not supported/.test(e.message),
  );
  checkFrontend(ast, 'docker/dockerfile:1');
  checkFrontend(parse('# syntax=docker/dockerfile:1\nFROM busybox\n'));
  checkFrontend(parse('FROM busybox\n'));
  assert.throws(() => checkFrontend(parse('FROM busybox\n'), 'my/frontend'), (e: unknown) => e instanceof KilnError && e.code === 'NOT_IMPLEMENTED' && /BUILDKIT_SYNTAX/.test(e.message));
});
