// OCI and Docker media types kiln reads and writes.
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export type MediaType = string;

export function isIndexMediaType(m: string | undefined): boolean {
  return m === MediaType.OciIndex || m === MediaType.DockerManifestList;
}

export function isManifestMediaType(m: string | undefined): boolean {
  return m === MediaType.OciManifest || m === MediaType.DockerManifest;
}

export function isConfigMediaType(m: string | undefined): boolean {
  return m === MediaType.OciConfig || m === MediaType.DockerConfig;
}

export type Compression = 'gzip' | 'zstd' | 'none';

export function layerCompression(m: string): Compression {
  if (m.endsWith('+zstd') || m.endsWith('.zstd')) return 'zstd';
  if (m.endsWith('gzip')) return 'gzip';
  return 'none';
}

export function isLayerMediaType(m: string): boolean {
  return m.startsWith('application/vnd.oci.image.layer.') || m.startsWith('application/vnd.docker.image.rootfs.');
}
