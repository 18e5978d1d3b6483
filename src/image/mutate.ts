// Functional mutation (GGCR mutate): every helper returns a NEW Image; the input is untouched.
import { imageFromParts, manifestFormat, type Image } from './image.js';
import type { Layer } from './layer.js';
import type { ContainerConfig, History, ImageConfig } from './types.js';

export interface Addendum {
  readonly layer: Layer;
  /** History entry for the layer; default `{ created_by: 'kiln' }` plus the config's `created`. */
  readonly history?: History;
}

async function parts(img: Image): Promise<{ format: 'oci' | 'docker'; config: ImageConfig; layers: readonly Layer[]; annotations?: Readonly<Record<string, string>> }> {
  const [m, config, layers] = await Promise.all([img.manifest(), img.config(), img.layers()]);
  return { format: manifestFormat(m), config, layers, ...(m.annotations ? { annotations: m.annotations } : {}) };
}

/** Appends layers (and one history entry per layer) to an image. */
export async function appendLayers(img: Image, ...adds: readonly (Layer | Addendum)[]): Promise<Image> {
  const p = await parts(img);
  const history = [...(p.config.history ?? [])];
  const layers = [...p.layers];
  for (const a of adds) {
    const add: Addendum = 'layer' in a ? a : { layer: a };
    layers.push(add.layer);
    const h: History = add.history ?? { ...(p.config.created ? { created: p.config.created } : {}), created_by: 'kiln' };
    history.push({ ...h, empty_layer: undefined } as History);
  }
  return imageFromParts({ ...p, config: { ...p.config, history: history.map(stripUndefined) }, layers });
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Replaces the runtime config (Env, Cmd, Entrypoint, ...) of an image. */
export async function setConfig(img: Image, config: ContainerConfig): Promise<Image> {
  const p = await parts(img);
  return imageFromParts({ ...p, config: { ...p.config, config } });
}

/** Replaces the whole config file except rootfs (which always follows the layers). */
export async function setConfigFile(img: Image, config: Omit<ImageConfig, 'rootfs'>): Promise<Image> {
  const p = await parts(img);
  return imageFromParts({ ...p, config });
}

/** Replaces the history. */
export async function setHistory(img: Image, history: readonly History[]): Promise<Image> {
  const p = await parts(img);
  return imageFromParts({ ...p, config: { ...p.config, history } });
}

/** Sets `created` (and optionally every history entry's `created`) — for reproducible builds. */
export async function setCreated(img: Image, created: string, opts: { history?: boolean } = {}): Promise<Image> {
  const p = await parts(img);
  const history = opts.history && p.config.history ? p.config.history.map((h) => ({ ...h, created })) : p.config.history;
  return imageFromParts({ ...p, config: { ...p.config, created, ...(history ? { history } : {}) } });
}
