import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawJsonRenderer } from './rawjson.js';
import { EVENTS } from './test-events.js';

test('rawjson: one JSON object per line, `v: 1` first, then the event exactly as emitted', () => {
  let out = '';
  const r = rawJsonRenderer((s) => (out += s));
  for (const e of EVENTS) r.onEvent(e);
  r.close();
  r.onEvent(EVENTS[0]!);
  const lines = out.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, EVENTS.length, 'nothing after close()');
  lines.forEach((l, i) => {
    const parsed = JSON.parse(l) as Record<string, unknown>;
    assert.equal(Object.keys(parsed)[0], 'v');
    assert.deepEqual(parsed, { v: 1, ...EVENTS[i] });
  });
  // Golden lines for three event kinds.
  assert.equal(lines[0], '{"v":1,"type":"warning","message":"One or more build-args [UNUSED] were not consumed","time":1700000000000}');
  assert.equal(lines[8], '{"v":1,"type":"step.start","id":3,"stage":"builder","name":"RUN npm ci","pos":"3/4","time":1700000000440}');
  assert.equal(lines[11], '{"v":1,"type":"step.log","id":3,"stream":"stdout","text":"npm warn deprecated inflight@1.0.6\\nadded 80 pack","time":1700000000952}');
});
