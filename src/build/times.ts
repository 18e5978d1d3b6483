// Times in image history and config: without SOURCE_DATE_EPOCH each step keeps the time it really
// ran (from its cache record), so an unchanged rebuild reproduces the same config and image id.
import type { ImagePart } from './assemble.js';

export const EPOCH_ZERO = '1970-01-01T00:00:00Z';

export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The newest `created` among parts that carry history. */
export function lastCreated(parts: readonly ImagePart[]): string | undefined {
  let last: string | undefined;
  for (const p of parts) {
    if (p.kind === 'base-layer') continue;
    const c = p.history.created;
    if (c !== undefined && (last === undefined || c > last)) last = c;
  }
  return last;
}
