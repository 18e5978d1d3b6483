import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../errors.js';
import type { Descriptor } from '../image/index.js';
import { parsePlatform } from '../image/index.js';
import { selectManifest } from './platform.js';

const d = (n: number, os: string, architecture: string, variant?: string, annotations?: Record<string, string>): Descriptor =>
  ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
    size: 1,
    platform: { os, architecture, ...(variant ? { variant } : {}) },
    ...(annotations ? { annotations } : {}),
  }) as Descriptor;

test('selectManifest picks the exact platform, arm fallbacks, skips attestations', () => {
  const list = [d(1, 'linux', 'amd64'), d(2, 'linux', 'arm64', 'v8'), d(3, 'linux', 'arm', 'v6'), d(4, 'unknown', 'unknown', undefined, { 'vnd.docker.reference.type': 'attestation-manifest' })];
  assert.equal(selectManifest(list, parsePlatform('linux/amd64'), 'x').digest, list[0]!.digest);
  assert.equal(selectManifest(list, parsePlatform('linux/arm64'), 'x').digest, list[1]!.digest);
  assert.equal(selectManifest(list, parsePlatform('linux/aarch64/v8'), 'x').digest, list[1]!.digest);
  // arm/v7 can run v6
  assert.equal(selectManifest(list, parsePlatform('linux/arm/v7'), 'x').digest, list[2]!.digest);
  assert.throws(
    () => selectManifest(list, parsePlatform('linux/s390x'), 'node:20'),
    (e: unknown) => e instanceof KilnError && e.code === 'PLATFORM_NOT_FOUND' && /node:20/.test(e.message) && /available: linux\/amd64, linux\/arm64\/v8, linux\/arm\/v6$/.test(e.message),
  );
  // v6 cannot run v7
  assert.throws(() => selectManifest([d(5, 'linux', 'arm', 'v7')], parsePlatform('linux/arm/v6'), 'x'), /PLATFORM|no manifest/);
});
