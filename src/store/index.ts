export * from './types.js';
export { FileStore, newIndividualId } from './fs-store.js';
