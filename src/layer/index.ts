// layer/: tar ↔ filesystem. Deterministic layer writing, safe applying with OCI whiteouts,
// compression with digests. See README.md.
export {
  BLOCK as TAR_BLOCK, TAR_END, encodeEntry, encodeHeader, isZeroBlock, looksLikeTarHeader, paddingFor,
  type EntryType, type TarHeader,
} from './tar-format.js';
export { writeTar, type TarInput } from './tar-writer.js';
export { readTar, readBody, type TarEntry, type ReadTarOptions, type TarSource } from './tar-reader.js';
export { compareLayerPaths, sortChanges, type Change } from './changes.js';
export { writeTree, writeChanges, type WriteOptions } from './pack.js';
export { applyLayer, type ApplyOptions, type ApplyResult, type UntarOptions } from './apply.js';
export { applyLayerInWorker, writeTreeInWorker } from './worker-client.js';
export {
  layerFromTar, decompressLayer, sniffCompression, layerMediaType,
  type BlobWriter, type CompressOptions, type LayerBlob,
} from './compress.js';
