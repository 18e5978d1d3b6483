export type * from './types.js';
export { OverlaySnapshotter, type OverlaySnapshotterOptions } from './overlay.js';
export { CopySnapshotter } from './copy.js';
export { createSnapshotter, probeOverlay, type CreateSnapshotterOptions, type OverlayProbe, type SnapshotterKind } from './detect.js';
export { overlayDiff, treeDiff, isWhiteout, isOpaqueDir } from './diff.js';
export { mountsUnder, mountPoints, trackedMounts, unmountTrackedSync, unmountAllUnder } from './mount.js';
