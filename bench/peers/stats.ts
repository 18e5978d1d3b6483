// The numbers the bench report is made of: medians of a builder's samples, kiln/BuildKit ratios
// pair by pair (rep r over rep r), and builds over their own physical limit.
import type { CaseResult, Phase, Sample } from './main.js';

export const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const okSamples = (c: CaseResult, b: string, p: Phase): Sample[] => c.samples.filter((s) => s.builder === b && s.phase === p && s.ok);
export const med = (c: CaseResult, b: string, p: Phase): number => median(okSamples(c, b, p).map((s) => s.seconds));

/** A builder's cold builds, each over the physical limit measured right before it (LIMIT_EACH_BUILD cases), sorted. */
export const ownLimitRatios = (c: CaseResult, b: string): number[] =>
  okSamples(c, b, 'cold')
    .filter((s) => s.limitS !== undefined && s.limitS > 0)
    .map((s) => s.seconds / s.limitS!)
    .sort((x, y) => x - y);

/** Median of the pairwise ratios a_r / b_r over the reps both have. */
export function pairRatio(c: CaseResult, a: string, b: string, p: Phase): number {
  const bs = new Map(okSamples(c, b, p).map((s) => [s.rep, s.seconds]));
  const rs = okSamples(c, a, p).filter((s) => bs.has(s.rep)).map((s) => s.seconds / bs.get(s.rep)!);
  return median(rs);
}

/** The rep with the highest a_r / b_r. */
export function worstPair(c: CaseResult, a: string, b: string, p: Phase): { rep: number; ratio: number } {
  const bs = new Map(okSamples(c, b, p).map((s) => [s.rep, s.seconds]));
  let worst = { rep: 0, ratio: NaN };
  for (const s of okSamples(c, a, p)) {
    const d = bs.get(s.rep);
    if (d === undefined) continue;
    const x = s.seconds / d;
    if (!(x <= worst.ratio)) worst = { rep: s.rep, ratio: x };
  }
  return worst;
}

export const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
