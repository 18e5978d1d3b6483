export * from './root.js';
export * from './store.js';
export * from './blobs.js';
export * from './refs.js';
export * from './lock.js';
export * from './gc.js';
export * from './image-view.js';
