// Per-step times from plain progress output, which kiln and BuildKit print alike:
//   #N [stage k/n] INSTRUCTION     (first line of a vertex names it)
//   #N 0.123 some output           (RUN output, with the vertex's own clock)
//   #N DONE 3.1s | #N CACHED | #N ERROR ...
// Each line of the captured output is prefixed by proc.ts with the harness's clock (seconds
// since the build command started), so each step also gets its first/last-seen times.
export interface Step {
  readonly id: number;
  readonly name: string;
  /** The builder's own duration (DONE x.xs); 0 for CACHED; null when neither was printed. */
  readonly secs: number | null;
  readonly cached: boolean;
  /** Harness clock when the step was first and last seen. */
  readonly start: number;
  readonly end: number;
}

export function parseSteps(output: string): Step[] {
  const steps = new Map<number, { id: number; name: string; secs: number | null; cached: boolean; start: number; end: number }>();
  for (const raw of output.split('\n')) {
    const m = /^(\d+\.\d+) #(\d+) (.*)$/.exec(raw);
    if (!m) continue;
    const t = Number(m[1]);
    const id = Number(m[2]);
    const rest = m[3]!;
    let s = steps.get(id);
    if (s === undefined) {
      s = { id, name: rest.slice(0, 120), secs: null, cached: false, start: t, end: t };
      steps.set(id, s);
      continue;
    }
    s.end = t;
    const done = /^DONE (\d+(?:\.\d+)?)s$/.exec(rest);
    if (done) s.secs = Number(done[1]);
    else if (rest === 'CACHED') {
      s.cached = true;
      s.secs = 0;
    }
  }
  return [...steps.values()].sort((a, b) => a.id - b.id);
}

/** A short kind for a step name, for grouping: FROM, RUN, COPY, export, context, other. */
export function stepKind(name: string): string {
  if (/^\[internal\]/.test(name)) return 'context/def';
  const m = /^\[[^\]]*\] (\w+)/.exec(name);
  if (m) {
    const k = m[1]!.toUpperCase();
    return k === 'ADD' ? 'COPY' : k;
  }
  if (/^exporting/.test(name)) return 'export';
  if (/^\[internal\]/.test(name)) return 'context/def';
  return 'other';
}
