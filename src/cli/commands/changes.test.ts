import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KilnError } from '../../errors.js';
import { applyChanges, exposedPorts } from './changes.js';

test('--change applies docker import/commit semantics', () => {
  const c = applyChanges({ Env: ['PATH=/bin'] }, [
    'ENV A=1 B=$A',
    'ENV C=${A}x',
    'CMD echo hi',
    'WORKDIR /app',
    'WORKDIR sub',
    'EXPOSE 80 53/udp 8000-8001',
    'LABEL b=2 a="x y"',
    'USER app:app',
    'VOLUME ["/data", "/cache"]',
    'STOPSIGNAL SIGINT',
    'HEALTHCHECK --interval=5s CMD true',
    'ONBUILD RUN make',
  ]);
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=1', 'B=', 'C=1x']);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo hi']);
  assert.equal(c.WorkingDir, '/app/sub');
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ['53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
  assert.deepEqual(c.Labels, { a: 'x y', b: '2' });
  assert.equal(c.User, 'app:app');
  assert.deepEqual(Object.keys(c.Volumes ?? {}), ['/cache', '/data']);
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'true'], Interval: 5_000_000_000 });
  assert.deepEqual(c.OnBuild, ['RUN make']);
});

test('--change ENTRYPOINT resets CMD unless CMD was given too', () => {
  assert.deepEqual(applyChanges({ Cmd: ['sh'] }, ['ENTRYPOINT ["/init"]']), { Cmd: null, Entrypoint: ['/init'] });
  assert.deepEqual(applyChanges({}, ['CMD ["x"]', 'ENTRYPOINT ["/init"]']), { Cmd: ['x'], Entrypoint: ['/init'] });
});

test('--change rejects build-time instructions and bad values clearly', () => {
  assert.throws(() => applyChanges({}, ['RUN make']), (e: unknown) => e instanceof KilnError && e.code === 'USAGE' && /RUN is not supported/.test(e.message) && /CMD, ENTRYPOINT/.test(e.details.hint ?? ''));
  assert.throws(() => applyChanges({}, ['FROM x']), (e: unknown) => e instanceof KilnError && e.code === 'USAGE');
  assert.throws(() => applyChanges({}, ['BOGUS x']), (e: unknown) => e instanceof KilnError && e.code === 'UNKNOWN_INSTRUCTION');
  assert.throws(() => exposedPorts('http'), (e: unknown) => e instanceof KilnError && e.code === 'USAGE');
  assert.throws(() => exposedPorts('90-80'), (e: unknown) => e instanceof KilnError && e.code === 'USAGE');
});
