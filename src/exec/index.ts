export * from './spec.js';
export * from './runtime.js';
export * from './detect.js';
export * from './user.js';
export { resolveInRoot } from './rootpath.js';
