// Deterministic JSON for manifests, indexes and configs. We do NOT sort keys (neither Docker nor
// the OCI tools do); the builders below emit keys in the order of the OCI/Go struct definitions,
// so the same image always serialises to the same bytes. See docs/design/image-json.md.
import { KilnError } from '../errors.js';
import { MediaType } from './media-types.js';
import type { ContainerConfig, Descriptor, History, ImageConfig, Index, Manifest, Platform } from './types.js';

/** JSON.stringify with no whitespace; rejects values JSON cannot represent faithfully. */
export function canonicalJson(value: unknown): Buffer {
  const text = JSON.stringify(value, (key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new KilnError('INTERNAL', `canonicalJson: non-finite number at ${JSON.stringify(key)}`);
    }
    if (typeof v === 'bigint') throw new KilnError('INTERNAL', `canonicalJson: bigint at ${JSON.stringify(key)}`);
    return v;
  });
  if (text === undefined) throw new KilnError('INTERNAL', 'canonicalJson: value is not serialisable');
  return Buffer.from(text, 'utf8');
}

/** Copies `src` with `order` keys first (when defined), then every other key in its own order. */
function ordered<T extends object>(src: T, order: readonly string[]): T {
  const rec = src as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of order) if (rec[k] !== undefined) out[k] = rec[k];
  for (const k of Object.keys(rec)) if (!(k in out) && rec[k] !== undefined) out[k] = rec[k];
  return out as T;
}

const PLATFORM_ORDER = ['architecture', 'os', 'os.version', 'os.features', 'variant'];
const DESCRIPTOR_ORDER = ['mediaType', 'digest', 'size', 'urls', 'annotations', 'data', 'platform', 'artifactType'];
const MANIFEST_ORDER = ['schemaVersion', 'mediaType', 'artifactType', 'config', 'layers', 'subject', 'annotations'];
const INDEX_ORDER = ['schemaVersion', 'mediaType', 'artifactType', 'manifests', 'subject', 'annotations'];
const CONFIG_ORDER = [
  'created', 'author', 'architecture', 'os', 'os.version', 'os.features', 'variant', 'config', 'rootfs', 'history',
];
const CONTAINER_CONFIG_ORDER = [
  'User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal',
  'ArgsEscaped', 'Healthcheck', 'OnBuild', 'Shell',
];
const HISTORY_ORDER = ['created', 'created_by', 'author', 'comment', 'empty_layer'];

export function orderPlatform(p: Platform): Platform {
  return ordered(p, PLATFORM_ORDER);
}

export function orderDescriptor(d: Descriptor): Descriptor {
  const o = ordered(d, DESCRIPTOR_ORDER);
  return o.platform ? { ...o, platform: orderPlatform(o.platform) } : o;
}

export type ManifestFormat = 'oci' | 'docker';

export interface ManifestParts {
  readonly format: ManifestFormat;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A schema-2 image manifest (OCI or Docker) with keys in spec order. */
export function buildManifest(p: ManifestParts): Manifest {
  const m: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: p.format === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest,
    config: orderDescriptor(p.config),
    layers: p.layers.map(orderDescriptor),
  };
  if (p.subject) m['subject'] = orderDescriptor(p.subject);
  if (p.annotations && Object.keys(p.annotations).length > 0) m['annotations'] = { ...p.annotations };
  return ordered(m, MANIFEST_ORDER) as unknown as Manifest;
}

export function buildIndex(p: {
  readonly format: ManifestFormat;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}): Index {
  const m: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: p.format === 'oci' ? MediaType.OciIndex : MediaType.DockerManifestList,
    manifests: p.manifests.map(orderDescriptor),
  };
  if (p.annotations && Object.keys(p.annotations).length > 0) m['annotations'] = { ...p.annotations };
  return ordered(m, INDEX_ORDER) as unknown as Index;
}

/** An image config with keys in the order of the OCI `Image` struct (+ Docker's extensions). */
export function buildConfig(c: ImageConfig): ImageConfig {
  const out = ordered(c, CONFIG_ORDER) as ImageConfig & Record<string, unknown>;
  const extra: Record<string, unknown> = {};
  if (c.config) extra['config'] = ordered(c.config as ContainerConfig, CONTAINER_CONFIG_ORDER);
  extra['rootfs'] = { type: 'layers', diff_ids: [...c.rootfs.diff_ids] };
  if (c.history) extra['history'] = c.history.map((h: History) => ordered(h, HISTORY_ORDER));
  return ordered({ ...out, ...extra }, CONFIG_ORDER);
}
