// Named build contexts (`--build-context NAME=VALUE`), looked up by name as BuildKit's
// dockerui.NamedContext does: the name is normalised as an image reference (`base`,
// `base:latest` and `docker.io/library/base` are one name), `scratch` never matches. A context
// named `context` does: `COPY --from=context` reads it (Docker 26, bctx-named-context-context),
// while a COPY without --from still reads the main build context.
import { familiarString, parseNormalizedReference } from '../registry/index.js';
import type { Ref } from './stages.js';
import type { NamedContext } from './types.js';

/** The key a named context is stored and looked up under; undefined when `name` is not a valid reference. */
export function contextName(name: string): string | undefined {
  try {
    const f = familiarString(parseNormalizedReference(name));
    return f.endsWith(':latest') ? f.slice(0, -':latest'.length) : f;
  } catch {
    return undefined;
  }
}

/** Name → what replaces it (a Ref planning understands), or undefined when no context has that name. */
export type NamedLookup = (name: string) => Ref | undefined;

export function namedLookup(contexts: ReadonlyMap<string, NamedContext> | undefined): NamedLookup {
  if (!contexts || contexts.size === 0) return () => undefined;
  return (name) => {
    if (name.toLowerCase() === 'scratch') return undefined;
    const key = contextName(name);
    const c = key === undefined ? undefined : contexts.get(key);
    if (!c) return undefined;
    if (c.kind === 'local') return { kind: 'local', name: key!, dir: c.dir };
    return c.ref === 'scratch' ? { kind: 'scratch' } : { kind: 'image', ref: c.ref };
  };
}
