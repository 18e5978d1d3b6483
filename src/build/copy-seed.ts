// Which earlier result a COPY from the context may reuse files from (copy/reuse.ts says how): the
// result the same step position produced last time (its slot), when it was made by the same
// instruction. The snapshotter checks that it sits on the same parent snapshot.
import type { PrepareSeed } from '../snapshot/index.js';
import type { BuildCache, KeyInputs } from './cache.js';
import { seedLayer, type Input, type ReusedFiles } from './copy/index.js';

export interface CopySeed {
  readonly seed: PrepareSeed;
  /** Filled when the snapshotter ran the seed. */
  readonly result: { reused?: ReusedFiles };
}

export function copySeed(cache: BuildCache, slot: string, inputs: KeyInputs, walked: readonly Input[], contextDir: string, now: ReadonlyMap<string, string>): CopySeed | undefined {
  const prevKey = cache.getSlot(slot);
  const prev = prevKey === undefined ? undefined : cache.get(prevKey);
  const before = prev?.inputs?.files;
  if (!prev?.snapshot || prev.copyTargets === undefined || before === undefined || prev.inputs?.definition !== inputs.definition) return undefined;
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
