// A no-op rebuild of a 20k-file context (`COPY . /ctx`): how long the second build takes, which is
// dominated by hashing the context for the cache key. Run: node dist/bench/cache-noop.js [files]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Store } from '../src/store/index.js';
import { runKiln } from '../test/helpers/cli.js';
import { makeBusyboxRootfs } from '../test/helpers/busybox-rootfs.js';
import { addRootfsImage } from '../test/helpers/kiln-image.js';

const files = Number(process.argv[2] ?? 20000);
const work = mkdtempSync(join(tmpdir(), 'kiln-bench-noop-'));
try {
  const root = join(work, 'root');
  await addRootfsImage(Store.open(root), 'docker.io/library/busybox:latest', makeBusyboxRootfs(join(work, 'busybox')), { Cmd: ['sh'] });
  const ctx = join(work, 'ctx');
  for (let i = 0; i < files; i++) {
    const d = join(ctx, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}.txt`), `file ${i}\n`.repeat(40));
  }
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY . /ctx\n');
  await new Promise((r) => setTimeout(r, 1200));
  const env = { KILN_ROOT: root };
  const time = async (label: string): Promise<number> => {
    const t0 = performance.now();
    const r = await runKiln(['build', '--progress', 'plain', ctx], { env, timeoutMs: 600_000 });
    const ms = performance.now() - t0;
    if (r.code !== 0) throw new Error(r.stderr);
    process.stdout.write(`${label}: ${(ms / 1000).toFixed(2)}s ${/(\d+) steps ran/.exec(r.stderr)?.[0] ?? ''}\n`);
    return ms;
  };
  await time('first build');
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(await time(`no-op rebuild ${i + 1}`));
  runs.sort((a, b) => a - b);
  process.stdout.write(`median no-op rebuild of ${files} files: ${(runs[1]! / 1000).toFixed(2)}s\n`);
} finally {
  execFileSync('rm', ['-rf', work]);
}
