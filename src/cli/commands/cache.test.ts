import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSize } from './cache.js';
import { parseSecrets } from './build-flags.js';

test('parseSize / parseDuration: docker-style sizes and Go durations (+ days); bad values are usage errors', () => {
  assert.equal(parseSize('10GB'), 10e9);
  assert.equal(parseSize('512MiB'), 512 * 1024 * 1024);
  assert.equal(parseSize('1.5g'), 1.5e9);
  assert.equal(parseSize('2000'), 2000);
  assert.equal(parseSize('0'), 0);
  assert.throws(() => parseSize('lots'), { code: 'USAGE' });
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('10s'), 10_000);
  assert.throws(() => parseDuration('1 week'), { code: 'USAGE' });
  assert.throws(() => parseDuration('5'), { code: 'USAGE' });
});

test('parseSecrets: src= file, env=, id only (variable of that name), bad specs', () => {
  const m = parseSecrets(['id=a,env=TOKEN', 'id=b,type=env', 'id=HOME'], { HOME: '/root' });
  assert.deepEqual(m.get('a'), { env: 'TOKEN' });
  assert.deepEqual(m.get('b'), { env: 'b' });
  assert.deepEqual(m.get('HOME'), { env: 'HOME' });
  assert.deepEqual(parseSecrets(['id=f,src=/etc/hostname'], {}).get('f'), { file: '/etc/hostname' });
  assert.throws(() => parseSecrets(['src=/etc/hostname'], {}), { code: 'USAGE' });
  assert.throws(() => parseSecrets(['id=x,src=/nonexistent/file'], {}), { code: 'SECRET_NOT_FOUND' });
  assert.throws(() => parseSecrets(['id=x,type=ssh'], {}), { code: 'USAGE' });
});
