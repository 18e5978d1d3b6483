// The name index: `name` → manifest/index descriptor. It IS the store's OCI `index.json`: each
// named entry carries `org.opencontainers.image.ref.name`, so `skopeo inspect oci:<root>:<name>`
// and umoci read kiln's images directly. Entries without a name (written by other tools) are
// kept and treated as GC roots. Updated only under the store lock, atomically (temp + rename).
import { KilnError } from '../errors.js';
import { MediaType, buildIndex, canonicalJson, parseManifest, type Descriptor, type Index } from '../image/index.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface RefEntry {
  readonly name: string;
  readonly descriptor: Descriptor;
}

export function emptyIndex(): Index {
  return buildIndex({ format: 'oci', manifests: [] });
}

export function parseIndexFile(bytes: Uint8Array, path: string): Index {
  try {
    const p = parseManifest(bytes);
    if (p.kind !== 'index') throw new KilnError('STORE_CORRUPT', `${path} is not an OCI image index`);
    return p.index;
  } catch (e: unknown) {
    if (e instanceof KilnError && e.code === 'STORE_CORRUPT') throw e;
    throw new KilnError('STORE_CORRUPT', `${path} cannot be read: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      hint: 'restore it, or move it aside and re-tag your images (blobs are untouched)',
    });
  }
}

/** The named entries, in file order (the first entry wins when a name repeats). */
export function refEntries(index: Index): RefEntry[] {
  const seen = new Set<string>();
  const out: RefEntry[] = [];
  for (const d of index.manifests) {
    const name = d.annotations?.[REF_NAME];
    if (name === undefined || seen.has(name)) continue;
    seen.add(name);
    const { [REF_NAME]: _drop, ...rest } = d.annotations ?? {};
    const { annotations: _a, ...plain } = d;
    out.push({ name, descriptor: Object.keys(rest).length ? { ...plain, annotations: rest } : plain });
  }
  return out;
}

/** A copy of `index` with `name` pointing at `desc` (replacing the name in place, else appended). */
export function withRef(index: Index, name: string, desc: Descriptor): Index {
  const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size,
    ...(desc.platform ? { platform: desc.platform } : {}),
    annotations: { ...(desc.annotations ?? {}), [REF_NAME]: name } };
  const out: Descriptor[] = [];
  let placed = false;
  for (const d of index.manifests) {
    if (d.annotations?.[REF_NAME] !== name) out.push(d);
    else if (!placed) {
      out.push(entry);
      placed = true;
    }
  }
  if (!placed) out.push(entry);
  return rebuild(index, out);
}

/** A copy of `index` without `name`; UNCHANGED (same object) when the name is absent. */
export function withoutRef(index: Index, name: string): Index {
  if (!index.manifests.some((d) => d.annotations?.[REF_NAME] === name)) return index;
  return rebuild(index, index.manifests.filter((d) => d.annotations?.[REF_NAME] !== name));
}

function rebuild(index: Index, manifests: Descriptor[]): Index {
  return buildIndex({ format: index.mediaType === MediaType.DockerManifestList ? 'docker' : 'oci', manifests, ...(index.annotations ? { annotations: index.annotations } : {}) });
}

export function serialiseIndex(index: Index): Buffer {
  return canonicalJson(index);
}
