export type * from './types.js';
export { planBuild } from './plan.js';
export { formatPlatformAll, formatPlatformShort, PLATFORM_ARGS } from './args.js';
export { toDockerHealth } from './state.js';
export { contextName } from './contexts.js';
