// A scripted build (two parallel stages, cache hits, output, a blob pull, a warning) with fixed
// times, for the renderers' golden tests and the tty pseudo-terminal test.
import type { ProgressEvent } from '../../progress/index.js';

export const T0 = 1_700_000_000_000;

/** [delay before the event in ms (for live replays), event]. */
export const SCRIPT: readonly (readonly [number, ProgressEvent])[] = [
  [0, { type: 'warning', message: 'One or more build-args [UNUSED] were not consumed', time: T0 }],
  [50, { type: 'step.start', id: 1, stage: 'builder', name: 'FROM docker.io/library/node:20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', pos: '1/4', time: T0 + 10 }],
  [50, { type: 'blob.progress', id: 1, digest: 'sha256:aaaaaaaaaaaabbbbbbbbbbbbccccccccccccddddddddddddeeeeeeeeeeeeffff', done: 0, total: 3_400_000, time: T0 + 20 }],
  [100, { type: 'blob.progress', id: 1, digest: 'sha256:aaaaaaaaaaaabbbbbbbbbbbbccccccccccccddddddddddddeeeeeeeeeeeeffff', done: 1_050_000, total: 3_400_000, time: T0 + 120 }],
  [100, { type: 'blob.progress', id: 1, digest: 'sha256:aaaaaaaaaaaabbbbbbbbbbbbccccccccccccddddddddddddeeeeeeeeeeeeffff', done: 3_400_000, total: 3_400_000, time: T0 + 320 }],
  [50, { type: 'step.done', id: 1, ms: 412, time: T0 + 422 }],
  [50, { type: 'step.start', id: 2, stage: 'builder', name: 'COPY package.json .', pos: '2/4', time: T0 + 430 }],
  [50, { type: 'step.cached', id: 2, time: T0 + 431 }],
  [50, { type: 'step.start', id: 3, stage: 'builder', name: 'RUN npm ci', pos: '3/4', time: T0 + 440 }],
  [50, { type: 'step.miss', id: 3, reason: 'no cached result', time: T0 + 441 }],
  [50, { type: 'step.start', id: 4, stage: 'assets', name: 'RUN make css', pos: '2/2', time: T0 + 450 }],
  [150, { type: 'step.log', id: 3, stream: 'stdout', text: 'npm warn deprecated inflight@1.0.6\nadded 80 pack', time: T0 + 952 }],
  [150, { type: 'step.log', id: 4, stream: 'stderr', text: 'building css\n', time: T0 + 1_000 }],
  [150, { type: 'step.log', id: 3, stream: 'stdout', text: 'ages in 3s\n', time: T0 + 3_512 }],
  [150, { type: 'step.done', id: 4, ms: 1_150, time: T0 + 1_600 }],
  [150, { type: 'step.done', id: 3, ms: 4_200, time: T0 + 4_640 }],
  [50, { type: 'step.start', id: 5, stage: 'builder', name: 'COPY --from=assets /out/site.css /app/public/css/with/a/rather/long/path/site.css', pos: '4/4', time: T0 + 4_650 }],
  [50, { type: 'step.done', id: 5, ms: 35, time: T0 + 4_685 }],
  [50, { type: 'step.start', id: 6, stage: 'builder', name: 'exporting to image', time: T0 + 4_690 }],
  [50, { type: 'step.done', id: 6, ms: 250, time: T0 + 4_940 }],
];

export const EVENTS: readonly ProgressEvent[] = SCRIPT.map(([, e]) => e);
