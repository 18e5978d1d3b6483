// Progress renderers for `kiln build --progress ...`: one entry point that picks tty, plain,
// rawjson or quiet for a stream, like BuildKit's progressui.NewDisplay.
import { KilnError } from '../../errors.js';
import type { ProgressEvent } from '../../progress/index.js';
import { plainRenderer } from './plain.js';
import { rawJsonRenderer } from './rawjson.js';
import { ttyRenderer } from './tty.js';
import type { RenderOptions, Renderer, RenderTarget } from './types.js';

export type { RenderOptions, Renderer, RenderTarget } from './types.js';
export { plainRenderer } from './plain.js';
export { rawJsonRenderer, RAWJSON_VERSION } from './rawjson.js';
export { ttyRenderer } from './tty.js';
export { formatBytes } from './format.js';

export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'rawjson', 'quiet'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** Validates a `--progress` value. */
export function parseProgressMode(s: string): ProgressMode {
  if ((PROGRESS_MODES as readonly string[]).includes(s)) return s as ProgressMode;
  throw new KilnError('USAGE', `invalid --progress ${JSON.stringify(s)}: use auto, tty, plain, rawjson or quiet`);
}

/** Whether `auto` would draw the live view on this stream. */
export function isLiveTerminal(stream: RenderTarget, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}

/**
 * The renderer for a mode: `auto` is KILN_PROGRESS or BUILDKIT_PROGRESS when set (as buildx), else
 * tty when the stream is a terminal, else plain; `tty` on a stream that is not a terminal is a
 * usage error (BuildKit: "failed to get console").
 * Call close() once the build is over (success or not), before printing anything else.
 */
export function makeRenderer(mode: ProgressMode, stream: RenderTarget, opts: RenderOptions = {}): Renderer {
  if (mode === 'auto') {
    const env = opts.env ?? process.env;
    for (const name of ['KILN_PROGRESS', 'BUILDKIT_PROGRESS']) {
      const v = env[name];
      if (v === undefined || v === '' || v === 'auto') continue;
      if (!(PROGRESS_MODES as readonly string[]).includes(v)) {
        throw new KilnError('USAGE', `invalid ${name}=${JSON.stringify(v)}: use auto, tty, plain, rawjson or quiet`, { hint: `unset ${name}, or pass --progress` });
      }
      return makeRenderer(v as ProgressMode, stream, opts);
    }
  }
  switch (mode) {
    case 'quiet':
      return { onEvent: (_e: ProgressEvent) => undefined, close: () => undefined };
    case 'rawjson':
      return rawJsonRenderer((s) => stream.write(s));
    case 'plain':
      return plainRenderer((s) => stream.write(s));
    case 'tty':
      if (stream.isTTY !== true) {
        throw new KilnError('USAGE', '--progress tty: stderr is not a terminal', { hint: 'use --progress plain (or auto) when output goes to a file or a pipe' });
      }
      return ttyRenderer(stream, opts);
    case 'auto':
      return isLiveTerminal(stream, opts.env) ? ttyRenderer(stream, opts) : plainRenderer((s) => stream.write(s));
  }
}
export { stageGraph, toDot, toMermaid, type StageGraph, type GraphStage, type GraphEdge, type EdgeKind } from './graph.js';
export { renderSizeReport, humanSize } from './size-report.js';
