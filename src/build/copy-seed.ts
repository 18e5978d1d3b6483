// Which earlier result a COPY from the context may reuse files from (copy/reuse.ts says how): the
// result the same step position produced last time (its slot; run-stage.ts reads it), when it
// was made by the same instruction. The snapshotter checks that it sits on the same parent.
import type { PrepareSeed } from '../snapshot/index.js';
import type { CacheRecord, KeyInputs } from './cache.js';
import { seedLayer, type Input, type ReusedFiles } from './copy/index.js';

export interface CopySeed {
  readonly seed: PrepareSeed;
  /** Filled when the snapshotter ran the seed. */
  readonly result: { reused?: ReusedFiles };
}

/** `prev`: the record of this step position's previous build (its slot). */
export function copySeed(prev: CacheRecord, inputs: KeyInputs, walked: readonly Input[], contextDir: string, now: ReadonlyMap<string, string>): CopySeed | undefined {
  const before = prev.inputs?.files;
  if (!prev.snapshot || prev.copyTargets === undefined || before === undefined || prev.inputs?.definition !== inputs.definition) return undefined;
  const targets = prev.copyTargets;
  const result: { reused?: ReusedFiles } = {};
  return {
    result,
    seed: {
      from: prev.snapshot,
      fill: (layer, fromLayer) => {
        result.reused = seedLayer(layer, fromLayer, { inputs: walked, targets, srcRoot: contextDir, before, now });
      },
    },
  };
}
