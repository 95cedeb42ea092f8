export { compile, Net } from './net.js';
export type { CompileOptions, EvalResult, MemoryFormat, Precision, SetWeightsResult, TrainOptions, TrainProgress, TrainResult } from './net.js';
export { createDataset, EngineDataset } from './dataset.js';
export type { DatasetInput } from './dataset.js';
export { EngineError } from './errors.js';
export type { EngineErrorCode } from './errors.js';
export { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from './safetensors.js';
export type { Tensor, WeightMap } from './safetensors.js';
export { loadNative } from './native.js';
