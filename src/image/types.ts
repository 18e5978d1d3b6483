// The OCI image-spec / Docker schema2 data model (plain JSON shapes). No I/O.
import type { Digest } from './digest.js';
import type { MediaType } from './media-types.js';

export interface Platform {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
}

export interface Descriptor {
  readonly mediaType: MediaType;
  readonly digest: Digest;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: Platform;
  readonly artifactType?: string;
}

export interface Manifest {
  readonly schemaVersion: 2;
  readonly mediaType?: MediaType;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface Index {
  readonly schemaVersion: 2;
  readonly mediaType?: MediaType;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface HealthConfig {
  readonly Test?: readonly string[];
  readonly Interval?: number;
  readonly Timeout?: number;
  readonly StartPeriod?: number;
  readonly StartInterval?: number;
  readonly Retries?: number;
}

/** The `config` object of an image config (runtime defaults), with Docker's extensions. */
export interface ContainerConfig {
  readonly User?: string;
  readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly Volumes?: Readonly<Record<string, Record<string, never>>>;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>>;
  readonly StopSignal?: string;
  readonly ArgsEscaped?: boolean;
  // Docker extensions
  readonly Healthcheck?: HealthConfig;
  readonly OnBuild?: readonly string[] | null;
  readonly Shell?: readonly string[];
}

export interface History {
  readonly created?: string;
  readonly created_by?: string;
  readonly author?: string;
  readonly comment?: string;
  readonly empty_layer?: boolean;
}

export interface RootFS {
  readonly type: 'layers';
  readonly diff_ids: readonly Digest[];
}

export interface ImageConfig {
  readonly created?: string;
  readonly author?: string;
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly config?: ContainerConfig;
  readonly rootfs: RootFS;
  readonly history?: readonly History[];
}
