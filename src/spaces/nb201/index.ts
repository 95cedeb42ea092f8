/** The NAS-Bench-201 search space: the cell, its string form, mutation, canonical hash, compile and drawing. */
export * from './cell.js';
export * from './compile.js';
export { renderNb201 } from './render.js';
export { Nb201SettingsSchema } from './settings.js';
export * from './table.js';
export { nb201Space } from './space.js';
