/** The Genetic CNN search space: binary stage DNA, its operators and compile. */
export * from './dna.js';
export * from './operators.js';
export * from './compile.js';
export { renderStages } from './render.js';
export { GeneticSchema, StagesSettingsSchema } from './settings.js';
export type { GeneticSettings, StagesSettings } from './settings.js';
export { stagesSpace } from './space.js';
