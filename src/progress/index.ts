export * from './events.js';
export * from './step-log.js';
