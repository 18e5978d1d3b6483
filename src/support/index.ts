export {};
export * from './limit.js';
export * from './process.js';
export * from './tempdir.js';
export * from './go-text.js';
export * from './filepath-match.js';
export * from './native.js';
export * from './stat.js';
export * from './code-paths.js';
