export * from './types.js';
export * from './algorithms.js';
export * from './schedule.js';
export * from './generational.js';
export * from './selection.js';
