export * from './net/index.js';
export * from './engine/index.js';
