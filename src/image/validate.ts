// Internal-consistency check of an Image (GGCR validate): run on every image kiln produces in
// tests and debug builds. Reads every blob through the Image/Layer views.
import { KilnError } from '../errors.js';
import { sha256 } from './digest.js';
import { MediaType, isLayerMediaType } from './media-types.js';
import { hashStream } from './layer.js';
import { parseConfig, parseManifest } from './parse.js';
import type { Image } from './image.js';
import type { ImageConfig, Manifest } from './types.js';

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Returns every inconsistency found (empty when the image is valid). */
export async function validate(image: Image, signal?: AbortSignal): Promise<string[]> {
  const problems: string[] = [];
  let manifest: Manifest | undefined;
  try {
    const raw = await image.rawManifest();
    const parsed = parseManifest(raw);
    if (parsed.kind !== 'manifest') problems.push('manifest: is an index, not an image manifest');
    else manifest = parsed.manifest;
    const d = await image.digest();
    if (d !== sha256(raw)) problems.push(`manifest: digest() ${d} is not the sha256 of rawManifest() (${sha256(raw)})`);
    const m = await image.manifest();
    if (manifest && JSON.stringify(m) !== JSON.stringify(manifest)) problems.push('manifest: manifest() differs from rawManifest()');
  } catch (e: unknown) {
    problems.push(`manifest: ${msg(e)}`);
  }
  if (!manifest) return problems;
  const docker = manifest.mediaType === MediaType.DockerManifest;

  // config
  let config: ImageConfig | undefined;
  try {
    const raw = await image.rawConfig();
    if (sha256(raw) !== manifest.config.digest) problems.push(`config: digest ${sha256(raw)} does not match the manifest's ${manifest.config.digest}`);
    if (raw.length !== manifest.config.size) problems.push(`config: size ${raw.length} does not match the manifest's ${manifest.config.size}`);
    config = parseConfig(raw);
  } catch (e: unknown) {
    problems.push(`config: ${msg(e)}`);
  }
  const wantConfigType = docker ? MediaType.DockerConfig : MediaType.OciConfig;
  if (manifest.config.mediaType !== wantConfigType) {
    problems.push(`config: media type ${manifest.config.mediaType} in ${docker ? 'a Docker' : 'an OCI'} manifest (expected ${wantConfigType})`);
  }

  // layers
  const descs = manifest.layers;
  const layers = await image.layers();
  if (layers.length !== descs.length) problems.push(`layers: image has ${layers.length} layers, the manifest lists ${descs.length}`);
  if (config && config.rootfs.diff_ids.length !== descs.length) {
    problems.push(`config: rootfs.diff_ids has ${config.rootfs.diff_ids.length} entries for ${descs.length} layers`);
  }
  for (let i = 0; i < Math.min(layers.length, descs.length); i++) {
    const desc = descs[i]!;
    const layer = layers[i]!;
    const at = `layer ${i} (${desc.digest})`;
    const family = desc.mediaType.startsWith('application/vnd.docker.') ? 'docker' : desc.mediaType.startsWith('application/vnd.oci.') ? 'oci' : 'other';
    if (!isLayerMediaType(desc.mediaType)) problems.push(`${at}: ${desc.mediaType} is not a layer media type`);
    else if (family !== (docker ? 'docker' : 'oci')) problems.push(`${at}: ${desc.mediaType} in ${docker ? 'a Docker' : 'an OCI'} manifest`);
    if (layer.mediaType !== desc.mediaType) problems.push(`${at}: layer media type ${layer.mediaType} differs from the manifest's ${desc.mediaType}`);
    try {
      const [d, s] = await Promise.all([layer.digest(), layer.size()]);
      if (d !== desc.digest) problems.push(`${at}: layer.digest() is ${d}`);
      if (s !== desc.size) problems.push(`${at}: layer.size() is ${s}, the manifest says ${desc.size}`);
      const got = await hashStream(await layer.compressed(signal));
      if (got.digest !== desc.digest) problems.push(`${at}: blob content has digest ${got.digest}`);
      if (got.size !== desc.size) problems.push(`${at}: blob is ${got.size} bytes, the manifest says ${desc.size}`);
    } catch (e: unknown) {
      problems.push(`${at}: ${msg(e)}`);
      continue;
    }
    try {
      const diffId = (await hashStream(await layer.uncompressed(signal))).digest;
      const want = config?.rootfs.diff_ids[i];
      if (want !== undefined && diffId !== want) problems.push(`${at}: uncompressed digest ${diffId} differs from config diff_id ${want}`);
      const claimed = await layer.diffId();
      if (claimed !== diffId) problems.push(`${at}: layer.diffId() is ${claimed}, content is ${diffId}`);
    } catch (e: unknown) {
      problems.push(`${at}: uncompressed: ${msg(e)}`);
    }
  }

  if (config?.history && config.history.length > 0) {
    const nonEmpty = config.history.filter((h) => !h.empty_layer).length;
    if (nonEmpty !== descs.length) problems.push(`config: history has ${nonEmpty} non-empty-layer entries for ${descs.length} layers`);
  }
  return problems;
}

/** Throws KilnError('IMAGE_INVALID') listing every problem. */
export async function assertValid(image: Image, signal?: AbortSignal): Promise<void> {
  const problems = await validate(image, signal);
  if (problems.length > 0) {
    throw new KilnError('IMAGE_INVALID', `image is not internally consistent:\n  ${problems.join('\n  ')}`);
  }
}
