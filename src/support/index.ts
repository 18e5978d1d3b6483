export {};
export * from './limit.js';
