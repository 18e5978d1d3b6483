// `kiln build` with the tty progress view, in a REAL pseudo-terminal (tmux, 60 columns): parallel
// stages running at once with their output tails, then one collapsed line per step, the error
// after the view when a RUN fails. Needs root, runc, busybox-static and tmux.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Store } from '../../src/store/index.js';
import { KILN_BIN } from '../helpers/cli.js';
import { isRoot, prereq, which } from '../helpers/prereq.js';
import { haveBusybox, makeBusyboxRootfs } from '../helpers/busybox-rootfs.js';
import { addRootfsImage } from '../helpers/kiln-image.js';

const COLS = 60;
const ready = isRoot && which('runc') !== undefined && haveBusybox() && which('tmux') !== undefined;
let work = '';
let root = '';

before(async () => {
  if (!ready) return;
  work = mkdtempSync(join(tmpdir(), 'kiln-e2e-tty-'));
  root = join(work, 'root');
  await addRootfsImage(Store.open(root), 'docker.io/library/busybox:latest', makeBusyboxRootfs(join(work, 'busybox')), { Cmd: ['sh'] });
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * Runs `kiln build` in a private tmux server; returns the first screen for which `midReady` holds
 * (polled; the last one seen if it never does) and the final screen.
 */
async function buildInTmux(name: string, dockerfile: string, midReady: (screen: string[]) => boolean): Promise<{ mid: string[]; final: string[] }> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  const sock = join(work, `${name}.sock`);
  const done = join(work, `${name}.done`);
  const tmux = (...args: string[]): string => {
    const r = spawnSync('tmux', ['-S', sock, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args[0]}: ${r.stderr}`);
    return r.stdout;
  };
  const cmd = `cd ${dir} && KILN_ROOT=${root} ${KILN_BIN} build --no-cache .; echo "exit=$?"; touch ${done}; sleep 120`;
  try {
    tmux('new-session', '-d', '-x', String(COLS), '-y', '40', cmd);
    let mid: string[] = [];
    while (!existsSync(done)) {
      mid = tmux('capture-pane', '-p').split('\n');
      if (midReady(mid)) break;
      await sleep(50);
    }
    const end = Date.now() + 60_000;
    while (!existsSync(done)) {
      if (Date.now() > end) throw new Error('build in tmux did not finish');
      await sleep(50);
    }
    await sleep(100);
    const final = tmux('capture-pane', '-p', '-S', '-', '-E', '-').split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
    return { mid, final };
  } finally {
    spawnSync('tmux', ['-S', sock, 'kill-server']);
  }
}

test('tty build: parallel stages run side by side with output tails, then collapse to one line each', async (t) => {
  if (!prereq(t, ready, 'root, runc, busybox-static and tmux')) return;
  const { mid, final } = await buildInTmux(
    'ok',
    [
      'FROM busybox AS one',
      'RUN for i in 1 2 3 4 5 6 7 8 9 10; do echo "one line $i"; sleep 0.25; done',
      'FROM busybox AS two',
      'RUN for i in 1 2 3 4 5 6 7 8 9 10; do echo "two line $i, long enough to be cut at sixty columns by the view"; sleep 0.25; done',
      'FROM busybox',
      'COPY --from=one /bin/busybox /a',
      'COPY --from=two /bin/busybox /b',
      '',
    ].join('\n'),
    (screen) => screen.some((l) => l.startsWith(' => => # one line 2')) && screen.some((l) => l.startsWith(' => => # two line 2')),
  );
  // Mid-build: both RUNs running at once, each with a timer and its latest output.
  // (done/started): the final stage may already have started its FROM next to the two RUNs
  assert.match(mid[0]!, /^\[\+\] Building \d+\.\ds \(\d\/[45]\)$/, mid.join('\n'));
  assert.ok(mid.some((l) => /^ => \[one 2\/2\] RUN for i in .* \d+\.\ds$/.test(l)), mid.join('\n'));
  assert.ok(mid.some((l) => /^ => \[two 2\/2\] RUN for i in .* \d+\.\ds$/.test(l)), mid.join('\n'));
  assert.ok(mid.some((l) => /^ => => # one line \d+$/.test(l)), mid.join('\n'));
  assert.ok(mid.some((l) => l.startsWith(' => => # two line ')), mid.join('\n'));
  assert.ok(!mid.some((l) => l.includes('the view')), `output tails are cut to the width:\n${mid.join('\n')}`);

  // Final: the header says FINISHED, one line per step, no output tails left, nothing wider than the terminal.
  const view = final.slice(0, final.findIndex((l) => l.startsWith('writing image')));
  assert.match(view[0]!, /^\[\+\] Building \d+\.\ds \(8\/8\) FINISHED$/, final.join('\n'));
  const rows = view.slice(1);
  assert.equal(rows.length, 8, rows.join('\n'));
  for (const r of rows) {
    assert.match(r, /^ => .* \d+\.\ds$/);
    assert.equal(r.length, COLS, `right-aligned timer at column ${COLS}: ${r}`);
  }
  assert.match(rows.find((r) => r.includes('[one 2/2]'))!, / [2-9]\.\ds$/, 'the RUN took its ~2.5 s');
  assert.ok(rows.some((r) => r.startsWith(' => [stage-2 2/3] COPY --from=one /bin/busybox /a ')));
  assert.equal(rows.at(-1)!.replace(/ +\d+\.\ds$/, ''), ' => exporting to image');
  assert.ok(!final.some((l) => l.includes('=> => #')), 'no output tail left on screen');
  assert.ok(final.includes('exit=0'));
});

test('tty build: a failing RUN shows an ERROR row, then the error with the Dockerfile line', async (t) => {
  if (!prereq(t, ready, 'root, runc, busybox-static and tmux')) return;
  const { final } = await buildInTmux('fail', ['FROM busybox', 'RUN echo about to fail; exit 3', ''].join('\n'), () => true);
  const i = final.findIndex((l) => l.startsWith('[+] Building'));
  assert.match(final[i]!, /^\[\+\] Building \d+\.\ds \(2\/2\) FAILED$/, final.join('\n'));
  assert.match(final[i + 2]!, /^ => ERROR \[(stage-0 )?2\/2\] RUN echo about to fail; exit 3 +\d+\.\ds$/);
  assert.equal(final[i + 3], ' => => # about to fail', 'the failed step keeps its output');
  const rest = final.slice(i + 4).join('\n');
  const unwrapped = final.slice(i + 4).join(''); // the terminal wraps long lines at 60 columns
  assert.match(rest, /^Dockerfile:2\n/);
  assert.match(rest, / 2 \| >>> RUN echo about to fail; exit 3/);
  assert.match(unwrapped, /ERROR: Dockerfile:2: process "\/bin\/sh -c echo about to fail; exit 3" did not complete successfully: exit code: 3/);
  assert.ok(final.includes('exit=1'));
});
