import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SizeReport } from '../../build/index.js';
import { humanSize, renderSizeReport } from './size-report.js';

const DEMO: SizeReport = {
  target: 'stage-1',
  compressed: 77_310_000,
  uncompressed: 238_400_000,
  layers: [
    { createdBy: 'FROM node:20-slim', layers: 5, compressed: 75_300_000, uncompressed: 232_500_000, base: true },
    { createdBy: 'WORKDIR /app', layers: 1, compressed: 88, uncompressed: 0, base: false },
    { createdBy: 'COPY /app/dist ./dist # buildkit', layers: 1, compressed: 696, uncompressed: 966, base: false },
    { createdBy: 'RUN /bin/sh -c npm install --omit=dev # buildkit', layers: 1, compressed: 1_910_000, uncompressed: 5_840_000, base: false },
  ],
  stages: [
    { name: 'builder', from: 'node:20', bytes: 688_000_000, notShipped: 688_000_000 },
    { name: 'assets', from: 'node:20-slim', bytes: 240_000_000, notShipped: 7_500_000 },
    { name: 'base', from: 'busybox', bytes: 4_000_000, notShipped: 0 },
  ],
  cost: { ms: 1, measured: 0 },
};

test('size report: golden output (base layers as one line, every stage with what was not shipped)', () => {
  assert.equal(
    renderSizeReport(DEMO, { imageName: 'kiln-demo/node-app:latest', width: 80 }),
    [
      'image kiln-demo/node-app:latest: 77.3 MB compressed, 238 MB uncompressed, 8 layers',
      '  COMPRESSED  UNCOMPRESSED  CREATED BY',
      '     75.3 MB        233 MB  FROM node:20-slim (5 layers)',
      '        88 B           0 B  WORKDIR /app',
      '       696 B         966 B  COPY /app/dist ./dist',
      '     1.91 MB       5.84 MB  RUN /bin/sh -c npm install --omit=dev',
      'intermediate stages (built, not the image):',
      '  builder (FROM node:20): 688 MB, not shipped',
      '  assets (FROM node:20-slim): 240 MB, 7.50 MB not shipped (233 MB is shared with the image)',
      '  base (FROM busybox): 4.00 MB, all of it shipped (the image is built on it)',
      'final image 238 MB vs builder 688 MB: 2.9x smaller',
      '',
    ].join('\n'),
  );
});

test('size report: a long instruction is cut to the width; unknown sizes show ?; no stages section for one stage', () => {
  const r: SizeReport = {
    target: 'app',
    compressed: 1500,
    layers: [{ createdBy: `RUN /bin/sh -c echo ${'x'.repeat(200)} # buildkit`, layers: 1, compressed: 1500, base: false }],
    stages: [],
    cost: { ms: 0, measured: 0 },
  };
  const out = renderSizeReport(r, { width: 60 });
  const lines = out.trimEnd().split('\n');
  assert.equal(lines[0], 'image stage app: 1.50 kB compressed, ? uncompressed, 1 layer');
  assert.equal(lines.length, 3);
  assert.equal(lines[2]!.length, 60);
  assert.match(lines[2]!, /^ {5}1.50 kB {13}\? {2}RUN \/bin\/sh -c echo x+\.\.\.$/);
});

test('humanSize: decimal units with three significant digits', () => {
  assert.deepEqual(
    [0, 999, 1000, 1234, 99_949, 999_499, 999_500, 612_000_000, 1_250_000_000].map(humanSize),
    ['0 B', '999 B', '1.00 kB', '1.23 kB', '99.9 kB', '999 kB', '1.00 MB', '612 MB', '1.25 GB'],
  );
});
