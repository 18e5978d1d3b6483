// Image names in the local store: stored fully qualified (`docker.io/library/node:20`, as pull,
// import, load of unqualified names and build -t do), typed and shown the familiar way (`node:20`).
import { familiarString, formatReference, parseNormalizedReference } from '../registry/index.js';

/** The fully qualified store name of `name` (`app` → `docker.io/library/app:latest`); `name` itself when it is not a reference. */
export function storeName(name: string): string {
  try {
    return formatReference(parseNormalizedReference(name));
  } catch {
    return name;
  }
}

/** The names `typed` may be stored under: as typed, then fully qualified. */
export function lookupNames(typed: string): string[] {
  const full = storeName(typed);
  return full === typed ? [typed] : [typed, full];
}

/** How docker shows a stored name: `docker.io/library/node:20` → `node:20`. */
export function displayName(stored: string): string {
  try {
    return familiarString(parseNormalizedReference(stored));
  } catch {
    return stored;
  }
}
