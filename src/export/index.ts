// export/: sinks for a finished image (OCI layout dir, OCI archive, docker-archive) and the
// reader that loads any of them back into the store. See README.md.
export { collectBlobs, collectAll, type NamedImage } from './closure.js';
export { writeOciLayout, writeOciArchive, ociArchiveStream, ociArchiveEntries, layoutIndex, type ExportOptions } from './oci.js';
export { writeDockerArchive, dockerArchiveStream, dockerArchiveEntries, dockerRepoTag, CONTAINERD_NAME, type DockerExportOptions } from './docker.js';
export { readArchive, ociEntryName, type ArchiveFormat, type LoadedImage, type ReadResult } from './read.js';
export { writeStreamAtomic } from './output.js';
