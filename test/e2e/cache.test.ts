// The build cache end to end (real CLI, runc, overlayfs, busybox): which steps re-run after each
// kind of edit and why, a re-run stage whose output did not change, --no-cache-filter, the
// context stat cache (a no-op rebuild of a 20k-file context reads no file), kiln du and prune.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Store } from '../../src/store/index.js';
import { runKiln } from '../helpers/cli.js';
import { isRoot, which, prereq } from '../helpers/prereq.js';
import { haveBusybox, makeBusyboxRootfs } from '../helpers/busybox-rootfs.js';
import { addRootfsImage } from '../helpers/kiln-image.js';

let root = '';
let work = '';
const ready = isRoot && which('runc') !== undefined && haveBusybox();

before(async () => {
  if (!ready) return;
  work = mkdtempSync(join(tmpdir(), 'kiln-e2e-cache-'));
  root = join(work, 'root');
  await addRootfsImage(Store.open(root), 'docker.io/library/busybox:latest', makeBusyboxRootfs(join(work, 'busybox')), { Cmd: ['sh'] });
});

after(() => {
  if (work) execFileSync('rm', ['-rf', work]);
});

const kiln = (args: string[]) => runKiln(args, { env: { KILN_ROOT: root }, timeoutMs: 120_000 });

function write(dir: string, files: Record<string, string>): void {
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
}

interface Outcome {
  /** `stage pos` of every step that ran (not CACHED), in output order; FROM lines left out. */
  readonly ran: string[];
  readonly cached: string[];
  /** `stage pos` → the miss reason printed for it. */
  readonly reasons: Record<string, string>;
}

/** Reads `--progress plain`: `#N [stage pos] ...`, then `#N CACHED` or `#N cache miss: why` ... `#N DONE`. */
function outcome(stderr: string): Outcome {
  const titles = new Map<string, string>();
  const order: string[] = [];
  const cachedIds = new Set<string>();
  const reasons: Record<string, string> = {};
  for (const line of stderr.split('\n')) {
    let m = /^#(\d+) \[(\S+) (\d+\/\d+)\] (.*)$/.exec(line);
    if (m) {
      if (!titles.has(m[1]!) && !m[4]!.startsWith('FROM ')) {
        titles.set(m[1]!, `${m[2]} ${m[3]}`);
        order.push(m[1]!);
      }
      continue;
    }
    m = /^#(\d+) CACHED$/.exec(line);
    if (m) cachedIds.add(m[1]!);
    m = /^#(\d+) cache miss: (.*)$/.exec(line);
    if (m && titles.has(m[1]!)) reasons[titles.get(m[1]!)!] = m[2]!;
  }
  return {
    ran: order.filter((id) => !cachedIds.has(id)).map((id) => titles.get(id)!),
    cached: order.filter((id) => cachedIds.has(id)).map((id) => titles.get(id)!),
    reasons,
  };
}

const DOCKERFILE = [
  'FROM busybox AS builder',
  'ARG MODE=dev',
  'WORKDIR /src',
  'COPY build.txt ./',
  'COPY src/ ./src/',
  // the builder's output depends on the first line of build.txt, MODE and the names in src/
  'RUN head -1 build.txt > out.txt && echo "$MODE" >> out.txt && ls src >> out.txt',
  'FROM busybox AS final',
  'COPY app.txt /app/',
  'COPY --from=builder /src/out.txt /app/',
  'RUN cat /app/* > /app/all',
  '',
].join('\n');

const ALL = ['builder 2/5', 'builder 3/5', 'builder 4/5', 'builder 5/5', 'final 2/4', 'final 3/4', 'final 4/4'];

test('edit matrix: exactly the steps whose inputs changed re-run, each saying why', async (t) => {
  if (!prereq(t, ready, 'root, runc and busybox-static')) return;
  const dir = join(work, 'matrix');
  write(dir, {
    Dockerfile: DOCKERFILE,
    '.dockerignore': 'src/*.md\n',
    'build.txt': 'one\ntwo\n',
    'app.txt': 'app v1\n',
    'src/main.c': 'int main;\n',
    'src/NOTES.md': 'ignored\n',
  });
  const step = async (what: string, args: string[], ran: string[], reasons: Record<string, string | RegExp> = {}): Promise<void> => {
    const r = await kiln(['build', '--progress', 'plain', ...args, dir]);
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    const o = outcome(r.stderr);
    // independent stages interleave (a stage waits for the one it copies from only at that COPY)
    assert.deepEqual([...o.ran].sort(), [...ran].sort(), `${what}: steps that ran\n${r.stderr}`);
    assert.deepEqual([...o.ran, ...o.cached].sort(), [...ALL].sort(), `${what}: every step reported once`);
    for (const [s, why] of Object.entries(reasons)) {
      if (typeof why === 'string') assert.equal(o.reasons[s], why, `${what}: reason for ${s}`);
      else assert.match(o.reasons[s] ?? '', why, `${what}: reason for ${s}`);
    }
    assert.deepEqual(Object.keys(o.reasons).sort(), [...ran].sort(), `${what}: a reason for every step that ran, none for cached ones`);
  };

  await step('first build', [], ALL, Object.fromEntries(ALL.map((s) => [s, 'no previous build'])));
  await step('no change', [], []);
  await step('a file excluded by .dockerignore', [], [], {});
  write(dir, { 'src/NOTES.md': 'still ignored, but changed\n' });
  await step('a file excluded by .dockerignore changed', [], []);

  // read by the builder only; the builder's output (first line) stays the same → final all cached
  write(dir, { 'build.txt': 'one\ntwo changed\n' });
  await step('build.txt line 2 (builder only, same output)', [], ['builder 3/5', 'builder 4/5', 'builder 5/5'], {
    'builder 3/5': 'build.txt changed',
    'builder 4/5': 'parent step re-ran',
    'builder 5/5': 'parent step re-ran',
  });
  // now the builder's output changes too
  write(dir, { 'build.txt': 'ONE\ntwo changed\n' });
  await step('build.txt line 1 (builder output changes)', [], ['builder 3/5', 'builder 4/5', 'builder 5/5', 'final 3/4', 'final 4/4'], {
    'builder 3/5': 'build.txt changed',
    'final 3/4': 'src/out.txt in stage builder changed',
    'final 4/4': 'parent step re-ran',
  });
  // a mode change is a change of a file read
  execFileSync('chmod', ['0755', join(dir, 'src', 'main.c')]);
  await step('mode of src/main.c', [], ['builder 4/5', 'builder 5/5'], { 'builder 4/5': 'src/main.c changed' });

  write(dir, { 'app.txt': 'app v2\n' });
  await step('a file read by the final stage only', [], ['final 2/4', 'final 3/4', 'final 4/4'], {
    'final 2/4': 'app.txt changed',
    'final 3/4': 'parent step re-ran',
    'final 4/4': 'parent step re-ran',
  });

  await step('a build arg used by one stage', ['--build-arg', 'MODE=prod'], ['builder 5/5', 'final 3/4', 'final 4/4'], {
    'builder 5/5': 'build arg MODE changed',
    'final 3/4': 'src/out.txt in stage builder changed',
    'final 4/4': 'parent step re-ran',
  });
  await step('same build arg again', ['--build-arg', 'MODE=prod'], []);

  await step('--no-cache-filter builder (same output: final stays cached)', ['--build-arg', 'MODE=prod', '--no-cache-filter', 'builder'], ['builder 2/5', 'builder 3/5', 'builder 4/5', 'builder 5/5'], {
    'builder 2/5': '--no-cache-filter builder',
    'builder 5/5': '--no-cache-filter builder',
  });

  // the base image re-tagged to a new digest
  const variant = makeBusyboxRootfs(join(work, 'busybox-2'));
  writeFileSync(join(variant, 'etc', 'variant'), '2\n');
  const desc = await addRootfsImage(Store.open(root), 'docker.io/library/busybox:latest', variant, { Cmd: ['sh'] });
  const base = /^base image busybox:latest now resolves to sha256:[0-9a-f]{64}$/;
  await step('base image re-tagged', ['--build-arg', 'MODE=prod'], ALL, {
    'builder 2/5': base,
    'builder 3/5': 'parent step re-ran',
    'final 2/4': base,
    'final 3/4': 'parent step re-ran',
  });
  const r = await kiln(['build', '--progress', 'plain', '--build-arg', 'MODE=prod', '--no-cache', dir]);
  assert.equal(outcome(r.stderr).reasons['final 4/4'], '--no-cache');
  assert.match(r.stderr, new RegExp(`cache miss: --no-cache`));
  assert.ok(desc.digest.startsWith('sha256:'));
});

test('--explain prints every step\'s key inputs; kiln du lists the steps; prune --keep-storage 0 empties the cache and keeps named images', async (t) => {
  if (!prereq(t, ready, 'root, runc and busybox-static')) return;
  const dir = join(work, 'explain');
  write(dir, { Dockerfile: 'FROM busybox\nARG V=1\nCOPY a.txt /a.txt\nRUN echo $V > /v\n', 'a.txt': 'a\n' });
  await new Promise((r) => setTimeout(r, 1100)); // files written in the last second are not trusted by stat
  const r1 = await kiln(['build', '--progress', 'plain', '--explain', '-t', 'explain:1', dir]);
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(r1.stderr, /^cache decisions:$/m);
  assert.match(r1.stderr, /^\[stage-0 2\/3\] COPY a\.txt \/a\.txt\n {2}ran: no previous build\n {2}key [0-9a-f]{16} {2}parent [0-9a-f]{16} {2}definition [0-9a-f]{16}\n {2}base image docker\.io\/library\/busybox:latest@sha256:[0-9a-f]{64}\n {2}context sha256:[0-9a-f]{16} \(1 file, 1 read, 0 from the stat cache\)$/m);
  assert.match(r1.stderr, /^\[stage-0 3\/3\] RUN echo 1 > \/v\n {2}ran: no previous build\n.*\n {2}build args V=1$/m);
  const r2 = await kiln(['build', '--progress', 'plain', '--explain', dir]);
  assert.match(r2.stderr, /^\[stage-0 2\/3\] COPY a\.txt \/a\.txt\n {2}CACHED \(matched the result made \d{4}-\d\d-\d\dT[\d:]+Z\)\n/m);
  assert.match(r2.stderr, /context files hashed: 1 \(0 read, 1 from the stat cache\)/);

  const du = await kiln(['du']);
  assert.equal(du.code, 0, du.stderr);
  assert.match(du.stdout, /^STAGE\s+STEP\s+SIZE\s+LAST USED\s+KEY$/m);
  assert.match(du.stdout, /^stage-0\s+2\/3 COPY a\.txt \/a\.txt\s+2B\s+/m);
  assert.match(du.stdout, /^stage-0\s+3\/3 RUN echo 1 > \/v\s+2B\s+/m);

  // an image name keeps its blobs; the cache's own layer records are GC roots too
  const blobsBefore = Store.open(root).list().length;
  const plain = await kiln(['prune']);
  assert.equal(plain.code, 0, plain.stderr);
  const again = await kiln(['build', '--progress', 'plain', dir]);
  assert.match(again.stderr, /0 steps ran/);

  const p = await kiln(['prune', '--filter', 'until=1h']);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /build cache: removed 0 records and 0 snapshots/);
  const all = await kiln(['prune', '--keep-storage', '0']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /build cache: removed [1-9]\d* records and [1-9]\d* snapshots/);
  const empty = await kiln(['du']);
  assert.match(empty.stdout, /^steps: 0, base-image layers: 0, snapshots: 0B/m);
  assert.ok(Store.open(root).list().length <= blobsBefore);
  assert.ok(Store.open(root).resolve('docker.io/library/explain:1'));
  const rebuilt = await kiln(['build', '--progress', 'plain', dir]);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assert.match(rebuilt.stderr, /#\d+ cache miss: cached result was removed \(pruned\)/);
});

test('a no-op rebuild of a 20k-file context re-reads no file content (stat cache); an edit re-reads only that file', async (t) => {
  if (!prereq(t, ready, 'root, runc and busybox-static')) return;
  const dir = join(work, 'big');
  for (let d = 0; d < 200; d++) {
    mkdirSync(join(dir, `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) writeFileSync(join(dir, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
  }
  // a bind mount of the whole context: every file is a key input, none is copied
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN --mount=type=bind,target=/ctx cat /ctx/d7/f7.txt > /f7\n');
  await new Promise((r) => setTimeout(r, 1100)); // files written in the last second are not trusted by stat
  const first = await kiln(['build', '--progress', 'plain', '--explain', dir]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /context files hashed: 20001 \(20001 read, 0 from the stat cache\)/);
  const noop = await kiln(['build', '--progress', 'plain', '--explain', dir]);
  assert.equal(noop.code, 0, noop.stderr);
  assert.match(noop.stderr, /context files hashed: 20001 \(0 read, 20001 from the stat cache\)/);
  assert.match(noop.stderr, /0 steps ran/);
  writeFileSync(join(dir, 'd7', 'f7.txt'), 'edited\n');
  const edit = await kiln(['build', '--progress', 'plain', '--explain', dir]);
  assert.equal(edit.code, 0, edit.stderr);
  assert.match(edit.stderr, /context files hashed: 20001 \(1 read, 20000 from the stat cache\)/);
  assert.match(edit.stderr, /#\d+ cache miss: d7\/f7\.txt changed/);
  assert.equal(readdirSync(join(root, 'build', 'context-hash')).length >= 1, true);
});
