// The tty progress view in a REAL pseudo-terminal: tmux runs a replay of a scripted build
// (test/helpers/tty-replay.ts) in a 60×30 window; the screen is read back with capture-pane.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { needCommand } from './helpers/prereq.js';
import { PROJECT_ROOT } from './helpers/cli.js';

const REPLAY = join(PROJECT_ROOT, 'dist', 'test', 'helpers', 'tty-replay.js');
const COLS = 60;

async function waitFor(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${path}`);
    await sleep(20);
  }
}

test('tty view in tmux: running steps with timers and dimmed output tails, then one collapsed line per step', async (t) => {
  const tmux = needCommand(t, 'tmux');
  if (!tmux) return;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-tty-'));
  const sock = join(dir, 'tmux.sock'); // a private tmux server, never the user's
  const run = (...args: string[]): string => {
    const r = spawnSync(tmux, ['-S', sock, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    // Pause after event 12: `RUN npm ci` and `RUN make css` both running, with output.
    run('new-session', '-d', '-x', String(COLS), '-y', '30', `${process.execPath} ${REPLAY} ${dir} 12; sleep 60`);
    await waitFor(join(dir, 'paused'), 15_000);
    const live = run('capture-pane', '-p', '-e');
    const livePlain = run('capture-pane', '-p').split('\n');
    writeFileSync(join(dir, 'resume'), '');
    await waitFor(join(dir, 'done'), 15_000);
    await sleep(100);
    const final = run('capture-pane', '-p', '-S', '-', '-E', '-').split('\n').map((l) => l.trimEnd());

    // Live: a header, two running steps (parallel stages) with ticking timers, their output dimmed.
    assert.match(livePlain[0]!, /^\[\+\] Building \d+\.\ds \(2\/4\)$/);
    assert.match(livePlain.find((l) => l.includes('RUN npm ci')) ?? '', /^ => \[builder 3\/4\] RUN npm ci +\d+\.\ds$/);
    assert.match(livePlain.find((l) => l.includes('RUN make css')) ?? '', /^ => \[assets 2\/2\] RUN make css +\d+\.\ds$/);
    assert.ok(livePlain.includes(' => => # npm warn deprecated inflight@1.0.6'), livePlain.join('\n'));
    assert.ok(livePlain.includes(' => => # added 80 pack'), 'the unfinished line shows too');
    assert.ok(livePlain.includes(' => => # building css'));
    assert.match(live, /\x1b\[2m[^\n]* => => # building css/, 'output tail is dimmed');
    assert.ok(livePlain.includes(' => CACHED [builder 2/4] COPY package.json .            0.0s'));
    assert.ok(!livePlain.some((l) => l.includes('sha256:aaaaaaaaaaaa')), 'a finished pull collapses, its blob lines go');

    // Final: one line per step (nothing left over from earlier frames), cut to 60 columns,
    // timers right-aligned, CACHED marked, the summary in the header.
    const body = final.filter((l) => l !== '');
    assert.match(body[0]!, /^\[\+\] Building \d+\.\ds \(6\/6\) FINISHED$/);
    assert.deepEqual(body.slice(1), [
      ' => [builder 1/4] FROM docker.io/library/node:20@sha256 0.4s',
      ' => CACHED [builder 2/4] COPY package.json .            0.0s',
      ' => [builder 3/4] RUN npm ci                            4.2s',
      ' => [assets 2/2] RUN make css                           1.1s',
      ' => [builder 4/4] COPY --from=assets /out/site.css /app 0.0s',
      ' => exporting to image                                  0.3s',
      'WARNING: One or more build-args [UNUSED] were not consumed',
      'replay finished',
    ]);
    for (const l of body) assert.ok(l.length <= COLS, `line longer than ${COLS}: ${l}`);
    assert.equal(body.filter((l) => l.includes('#')).length, 0, 'no output tail left behind');
  } finally {
    spawnSync(tmux, ['-S', sock, 'kill-server']);
    rmSync(dir, { recursive: true, force: true });
  }
});
