export * from './scheduler.js';
export type * from './ports.js';
export { build, type BuildResult, type StageOutcome } from './engine.js';
export type { AssembledImage } from './assemble.js';
export { BuildCache, cacheKey } from './cache.js';
export { runImage, containerArgv, type RunImageOptions } from './run-image.js';
export { formatDecisions, type StepDecision } from './explain.js';
export { cacheBlobRoots, cacheUsage, listCache, pruneCache, type CacheItem, type CacheUsage, type PruneOptions, type PruneResult } from './cache-admin.js';
