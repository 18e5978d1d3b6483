// Replays the scripted build (src/cli/render/test-events.ts) into the tty renderer on this
// process's stderr, with the script's delays, for tests that run it inside a real pseudo-terminal
// (tmux). Event times are rebased onto the real clock so running timers tick.
//   node dist/test/helpers/tty-replay.js SYNC_DIR [PAUSE_AFTER]
// After event PAUSE_AFTER (an index into the script) it creates SYNC_DIR/paused and waits for
// SYNC_DIR/resume; when the renderer is closed it creates SYNC_DIR/done.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ttyRenderer } from '../../src/cli/render/index.js';
import { SCRIPT, T0 } from '../../src/cli/render/test-events.js';
import type { ProgressEvent } from '../../src/progress/index.js';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: tty-replay SYNC_DIR [PAUSE_AFTER]');
  const pauseAfter = process.argv[3] !== undefined ? Number(process.argv[3]) : -1;
  const r = ttyRenderer(process.stderr);
  const base = Date.now();
  let i = 0;
  for (const [delay, e] of SCRIPT) {
    await sleep(delay);
    r.onEvent({ ...e, time: base + (e.time - T0) } as ProgressEvent);
    if (i === pauseAfter) {
      await sleep(300); // let a frame or three be drawn
      writeFileSync(join(dir, 'paused'), '');
      while (!existsSync(join(dir, 'resume'))) await sleep(20);
    }
    i++;
  }
  r.close();
  process.stderr.write('replay finished\n');
  writeFileSync(join(dir, 'done'), '');
}

main().catch((e: unknown) => {
  process.stderr.write(`tty-replay: ${String(e)}\n`);
  process.exit(1);
});
