// Runtime guards: bytes from a registry, a store or an archive → typed manifests, indexes and
// configs. Everything that is not what the spec says is a KilnError('IMAGE_INVALID').
import { KilnError } from '../errors.js';
import { isDigest, type Digest } from './digest.js';
import { MediaType, isIndexMediaType, isManifestMediaType } from './media-types.js';
import type { Descriptor, History, ImageConfig, Index, Manifest, Platform } from './types.js';

export type ParsedManifest =
  | { readonly kind: 'manifest'; readonly mediaType: string; readonly manifest: Manifest }
  | { readonly kind: 'index'; readonly mediaType: string; readonly index: Index };

const SCHEMA1_TYPES = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

function invalid(what: string, msg: string, hint?: string): KilnError {
  return new KilnError('IMAGE_INVALID', `${what}: ${msg}`, hint === undefined ? {} : { hint });
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonObject(bytes: Uint8Array | string, what: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (e: unknown) {
    throw invalid(what, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObj(v)) throw invalid(what, 'not a JSON object');
  return v;
}

function optString(o: Obj, k: string, what: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(what, `"${k}" must be a string`);
  return v;
}

function optStringArray(o: Obj, k: string, what: string, nullable = false): readonly string[] | null | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (v === null && nullable) return null;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalid(what, `"${k}" must be an array of strings`);
  return v as string[];
}

function optStringMap(o: Obj, k: string, what: string): Readonly<Record<string, string>> | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw invalid(what, `"${k}" must be an object of strings`);
  }
  return v as Record<string, string>;
}

export function parsePlatformObject(v: unknown, what: string): Platform {
  if (!isObj(v)) throw invalid(what, 'platform must be an object');
  const architecture = optString(v, 'architecture', what);
  const os = optString(v, 'os', what);
  if (!architecture || !os) throw invalid(what, 'platform needs "architecture" and "os"');
  optString(v, 'variant', what);
  optString(v, 'os.version', what);
  optStringArray(v, 'os.features', what);
  return v as unknown as Platform;
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObj(v)) throw invalid(what, 'descriptor must be an object');
  const mediaType = optString(v, 'mediaType', what);
  if (!mediaType) throw invalid(what, 'descriptor has no "mediaType"');
  const digest = v['digest'];
  if (typeof digest !== 'string' || !isDigest(digest)) {
    throw invalid(what, `descriptor has an invalid digest ${JSON.stringify(digest)}`);
  }
  const size = v['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(what, `descriptor ${digest} has an invalid size ${JSON.stringify(size)}`);
  }
  optStringArray(v, 'urls', what);
  optStringMap(v, 'annotations', what);
  if (v['platform'] !== undefined) parsePlatformObject(v['platform'], what);
  return v as unknown as Descriptor;
}

function descriptorList(o: Obj, k: string, what: string): readonly Descriptor[] {
  const v = o[k];
  if (!Array.isArray(v)) throw invalid(what, `"${k}" must be an array`);
  return v.map((d, i) => parseDescriptor(d, `${what} ${k}[${i}]`));
}

/**
 * Parses a manifest or an index (OCI or Docker schema 2), detecting which from its `mediaType`
 * field, else the transport's Content-Type, else its shape. Docker schema 1 is rejected.
 */
export function parseManifest(bytes: Uint8Array | string, contentType?: string): ParsedManifest {
  const what = 'manifest';
  const o = parseJsonObject(bytes, what);
  const field = optString(o, 'mediaType', what);
  const ct = contentType?.split(';')[0]?.trim();
  if (o['schemaVersion'] === 1 || SCHEMA1_TYPES.has(field ?? '') || SCHEMA1_TYPES.has(ct ?? '')) {
    throw invalid(what, 'Docker schema 1 manifests are not supported (deprecated since 2017)', 'rebuild or re-push the image with a current Docker/BuildKit, which writes schema 2');
  }
  if (o['schemaVersion'] !== 2) throw invalid(what, `unsupported schemaVersion ${JSON.stringify(o['schemaVersion'])}`);
  let mediaType = field ?? (ct && (isManifestMediaType(ct) || isIndexMediaType(ct)) ? ct : undefined);
  if (mediaType === undefined) {
    if (Array.isArray(o['manifests'])) mediaType = MediaType.OciIndex;
    else if (o['config'] !== undefined && Array.isArray(o['layers'])) mediaType = MediaType.OciManifest;
    else throw invalid(what, 'neither a manifest (config + layers) nor an index (manifests)');
  }
  optString(o, 'artifactType', what);
  optStringMap(o, 'annotations', what);
  if (o['subject'] !== undefined) parseDescriptor(o['subject'], `${what} subject`);
  if (isIndexMediaType(mediaType)) {
    descriptorList(o, 'manifests', what);
    return { kind: 'index', mediaType, index: o as unknown as Index };
  }
  if (isManifestMediaType(mediaType)) {
    parseDescriptor(o['config'], `${what} config`);
    descriptorList(o, 'layers', what);
    return { kind: 'manifest', mediaType, manifest: o as unknown as Manifest };
  }
  throw invalid(what, `unsupported media type ${JSON.stringify(mediaType)}`);
}

/** Parses an image config (OCI or Docker). `architecture`, `os` and `rootfs` must be present. */
export function parseConfig(bytes: Uint8Array | string): ImageConfig {
  const what = 'image config';
  const o = parseJsonObject(bytes, what);
  for (const k of ['architecture', 'os'] as const) {
    const v = optString(o, k, what);
    if (!v) throw invalid(what, `missing "${k}"`);
  }
  for (const k of ['created', 'author', 'variant', 'os.version']) optString(o, k, what);
  const rootfs = o['rootfs'];
  if (!isObj(rootfs)) throw invalid(what, 'missing "rootfs"');
  if (rootfs['type'] !== 'layers') throw invalid(what, `rootfs.type must be "layers", not ${JSON.stringify(rootfs['type'])}`);
  const ids = rootfs['diff_ids'];
  if (ids !== null && ids !== undefined && (!Array.isArray(ids) || !ids.every((d) => typeof d === 'string' && isDigest(d)))) {
    throw invalid(what, 'rootfs.diff_ids must be an array of digests');
  }
  const history = o['history'];
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history) || !history.every(isObj)) throw invalid(what, '"history" must be an array of objects');
    for (const h of history as Obj[]) {
      for (const k of ['created', 'created_by', 'author', 'comment']) optString(h, k, what);
      if (h['empty_layer'] !== undefined && typeof h['empty_layer'] !== 'boolean') throw invalid(what, 'history empty_layer must be a boolean');
    }
  }
  const config = o['config'];
  if (config !== undefined && config !== null) {
    if (!isObj(config)) throw invalid(what, '"config" must be an object');
    optString(config, 'User', what);
    optString(config, 'WorkingDir', what);
    optStringArray(config, 'Env', what, true);
    optStringArray(config, 'Entrypoint', what, true);
    optStringArray(config, 'Cmd', what, true);
    optStringMap(config, 'Labels', what);
  }
  const diffIds = (ids ?? []) as Digest[];
  return { ...(o as unknown as ImageConfig), rootfs: { type: 'layers', diff_ids: diffIds }, ...(history === null ? { history: [] as History[] } : {}) };
}
