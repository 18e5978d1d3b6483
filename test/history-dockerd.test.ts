// `kiln history` against Docker 26's `docker history` on the same image (built by kiln, saved as a
// docker-archive, docker load-ed into a private dockerd): same rows, same CREATED BY, same dates,
// same comments, same layer SIZEs (Docker's: the bytes of a layer's files), same ID on the top row.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/store/index.js';
import { runKiln } from './helpers/cli.js';
import { haveBusybox, makeBusyboxRootfs } from './helpers/busybox-rootfs.js';
import { addRootfsImage } from './helpers/kiln-image.js';
import { fileDockerd } from './helpers/dockerd.js';
import { prereq, which } from './helpers/prereq.js';

const { engine } = fileDockerd();
let work = '';

after(() => {
  if (work) execFileSync('rm', ['-rf', work]);
});

test('kiln history --no-trunc --format json equals docker history on the same image (sizes included)', async (t) => {
  const dockerd = engine(t);
  if (!dockerd) return;
  if (!prereq(t, which('runc') !== undefined && haveBusybox(), 'runc and busybox-static')) return;
  work = mkdtempSync(join(tmpdir(), 'kiln-hist-docker-'));
  const root = join(work, 'root');
  await addRootfsImage(Store.open(root), 'docker.io/library/busybox:latest', makeBusyboxRootfs(join(work, 'busybox')), { Cmd: ['sh'] });
  const ctx = join(work, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'small.txt'), 'twelve bytes');
  writeFileSync(
    join(ctx, 'Dockerfile'),
    [
      'FROM busybox',
      'ENV A=1',
      'COPY small.txt /data/',
      'RUN dd if=/dev/zero of=/mb bs=1000 count=1234 2>/dev/null && ln -s /data/small.txt /link && ln /mb /mb-hardlink',
      `RUN echo ${'long '.repeat(20)}> /long.txt && rm /data/small.txt`,
      'LABEL k=v',
      'CMD ["sh"]',
      '',
    ].join('\n'),
  );
  const env = { KILN_ROOT: root };
  const b = await runKiln(['build', '-q', '-t', 'hist/docker:1', ctx], { env });
  assert.equal(b.code, 0, b.stderr);
  const archive = join(work, 'img.tar');
  const s = await runKiln(['save', '-o', archive, 'hist/docker:1'], { env });
  assert.equal(s.code, 0, s.stderr);
  await dockerd.dockerOk(['load', '-i', archive]);

  const parse = (out: string): Record<string, string>[] => out.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  const docker = parse((await dockerd.dockerOk(['history', '--no-trunc', '--format', 'json', 'hist/docker:1'])).stdout);
  const k = await runKiln(['history', '--no-trunc', '--format', 'json', 'hist/docker:1'], { env });
  assert.equal(k.code, 0, k.stderr);
  const kiln = parse(k.stdout);
  const pick = (rows: Record<string, string>[]) => rows.map((r) => ({ ID: r['ID'], CreatedAt: r['CreatedAt'], CreatedBy: r['CreatedBy'], Size: r['Size'], Comment: r['Comment'] }));
  assert.deepEqual(pick(kiln), pick(docker));
  assert.deepEqual(Object.keys(kiln[0]!).sort(), Object.keys(docker[0]!).sort());

  // the table and the raw byte counts too
  const dRaw = (await dockerd.dockerOk(['history', '-H=false', '--format', '{{.Size}}', 'hist/docker:1'])).stdout;
  const kRaw = await runKiln(['history', '-H=false', '--format', '{{.Size}}', 'hist/docker:1'], { env });
  assert.equal(kRaw.stdout, dRaw);
  const dTable = (await dockerd.dockerOk(['history', 'hist/docker:1'])).stdout;
  const kTable = await runKiln(['history', 'hist/docker:1'], { env });
  // same columns; their padding depends on the widest CREATED text, which depends on "now"
  const header = (out: string) => out.split('\n')[0]!.trim().split(/ {2,}/);
  assert.deepEqual(header(kTable.stdout), header(dTable), 'same header');
  const cols = (out: string) => out.trimEnd().split('\n').slice(1).map((l) => l.split(/ {3,}/).filter((c, i) => i !== 1)); // CREATED depends on "now"
  assert.deepEqual(cols(kTable.stdout), cols(dTable));
});
