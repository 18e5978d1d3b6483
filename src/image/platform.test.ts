import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import { MediaType } from './media-types.js';
import { sha256 } from './digest.js';
import { formatPlatform, hostPlatform, matchPlatform, normalizePlatform, parsePlatform, selectPlatform } from './platform.js';

const host = { os: 'linux', architecture: 'amd64' };

test('parsePlatform normalises like containerd', () => {
  const cases: [string, string][] = [
    ['linux/amd64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['linux/aarch64', 'linux/arm64/v8'],
    ['linux/arm64', 'linux/arm64/v8'],
    ['linux/arm64/v8', 'linux/arm64/v8'],
    ['Linux/ARM64/8', 'linux/arm64/v8'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/i386', 'linux/386'],
    ['linux', 'linux/amd64'],
    ['arm64', 'linux/arm64/v8'],
    ['macos/arm64', 'darwin/arm64/v8'],
    ['windows/amd64', 'windows/amd64'],
  ];
  for (const [i, want] of cases) assert.equal(formatPlatform(parsePlatform(i, host)), want, i);
});

test('parsePlatform rejects malformed strings with PLATFORM_INVALID', () => {
  for (const bad of ['', 'linux/', 'linux/amd64/v8/x', 'lin ux/amd64', 'plan10/amd64']) {
    assert.throws(() => parsePlatform(bad, host), (e: unknown) => e instanceof KilnError && e.code === 'PLATFORM_INVALID', bad);
  }
});

test('matchPlatform compares normalised platforms', () => {
  assert.ok(matchPlatform({ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'aarch64', variant: 'v8' }));
  assert.ok(matchPlatform({ os: 'linux', architecture: 'x86_64' }, { os: 'linux', architecture: 'amd64' }));
  assert.ok(!matchPlatform({ os: 'linux', architecture: 'arm', variant: 'v6' }, { os: 'linux', architecture: 'arm', variant: 'v7' }));
  assert.ok(!matchPlatform({ os: 'linux', architecture: 'amd64' }, { os: 'windows', architecture: 'amd64' }));
  assert.ok(!matchPlatform({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }));
});

test('selectPlatform picks from an index or lists what exists', () => {
  const m = (architecture: string, variant?: string) => ({ mediaType: MediaType.OciManifest, digest: sha256(architecture), size: 1, platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) } });
  const idx = [m('amd64'), m('arm64', 'v8'), m('arm', 'v7')];
  assert.equal(selectPlatform(idx, { os: 'linux', architecture: 'aarch64' }).digest, sha256('arm64'));
  assert.throws(() => selectPlatform(idx, { os: 'linux', architecture: 's390x' }), (e: unknown) =>
    e instanceof KilnError && e.code === 'PLATFORM_NOT_FOUND' && /linux\/arm64\/v8/.test(e.details.hint ?? ''));
});

test('hostPlatform is normalised and matches itself', () => {
  const h = hostPlatform();
  assert.deepEqual(h, normalizePlatform(h));
  assert.equal(h.os, process.platform === 'win32' ? 'windows' : process.platform);
  assert.ok(matchPlatform(h, parsePlatform(formatPlatform(h))));
});
