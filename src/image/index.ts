export * from './digest.js';
export * from './media-types.js';
export type * from './types.js';
