// How much a plan may hold. Each stage keeps its own image config and history (a stage FROM
// another starts from a copy of the other's), and each RUN step keeps the env it runs with: a
// chain of N stages that each add an ENV holds ~N²/2 entries, and 20,000 of them (a 0.5 MB
// Dockerfile) ran Node out of memory after 40 s. The budget counts those entries as they are
// made and stops the plan at the instruction that crosses it, with a clear error, long before
// memory runs out; real Dockerfiles hold a few thousand.
import type { SourceRange } from '../errors.js';
import { planError, type ErrorContext } from './fail.js';
import type { WorkingImage } from './state.js';

/** Entries (config Env/label/port/volume/argument items, history entries, RUN env items) a plan may hold. */
export const MAX_PLAN_ENTRIES = 50_000_000;

const count = (o: object | undefined): number => (o === undefined ? 0 : Array.isArray(o) ? o.length : Object.keys(o).length);

/** The entries an image config and history hold (what a stage FROM it copies). */
export function imageEntries(img: WorkingImage): number {
  const c = img.config;
  return img.history.length + c.Env.length + count(c.Labels) + count(c.ExposedPorts) + count(c.Volumes) + count(c.Entrypoint) + count(c.Cmd) + count(c.Shell);
}

export class PlanBudget {
  private used = 0;
  constructor(private readonly max = MAX_PLAN_ENTRIES) {}

  /** Counts `n` more entries, made by the instruction at `range`; throws PLAN_TOO_LARGE past the budget. */
  spend(n: number, ctx: ErrorContext, range: SourceRange): void {
    this.used += n;
    if (this.used <= this.max) return;
    throw planError(
      ctx,
      range,
      'PLAN_TOO_LARGE',
      `the build plan would hold more than ${this.max.toLocaleString('en-US')} config, history and RUN env entries (each stage copies what it inherits, each RUN keeps its env); kiln stops here rather than run out of memory`,
      'this happens with thousands of stages each FROM the one before, or thousands of RUNs under thousands of ENVs: merge stages, or set variables in fewer ENV instructions',
    );
  }
}
