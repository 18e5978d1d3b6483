export {};
export * from './limit.js';
export * from './process.js';
export * from './tempdir.js';
