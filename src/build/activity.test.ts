import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beginBuild, beginPrune } from './activity.js';

test('a prune refuses while another live process builds; markers of dead processes are ignored; a build waits for a prune', async () => {
  const state = mkdtempSync(join(tmpdir(), 'kiln-activity-'));
  try {
    mkdirSync(join(state, 'active'));
    writeFileSync(join(state, 'active', '999999999.build.0'), ''); // no such process
    const end = beginPrune(state);
    assert.ok(!existsSync(join(state, 'active', '999999999.build.0')), 'dead marker removed');
    // our own build markers never block our own prune, and a build waits for the other prune
    let started = false;
    const other = join(state, 'active', `${process.ppid}.prune.0`);
    writeFileSync(other, '');
    const b = beginBuild(state, AbortSignal.timeout(5000)).then((release) => {
      started = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(started, false, 'the build waits while another process prunes');
    rmSync(other);
    const releaseBuild = await b;
    assert.equal(started, true);
    end();
    writeFileSync(join(state, 'active', `${process.ppid}.build.0`), '');
    assert.throws(() => beginPrune(state), { code: 'STORE_LOCKED', message: new RegExp(`a build is running \\(pid ${process.ppid}\\)`) });
    releaseBuild();
    assert.deepEqual(readdirSync(join(state, 'active')), [`${process.ppid}.build.0`], 'own markers are gone');
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
