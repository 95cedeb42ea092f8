export * from './ir.js';
export { analyze, evalFlopsPerBatch, individualCost, NetIRError, trainFlopsPerStep } from './analyze.js';
export type { NamedTensor, NetAnalysis, NetIRIssue } from './analyze.js';
export { OPS } from './ops.js';
export { CIFAR10_IO, initialIndividual, PRESETS, resnet20, smallConv } from './presets.js';
export type { IOSpec } from './presets.js';
