import { EvonasError } from '../util/errors.js';
/** Error codes the engine raises. */
export type EngineErrorCode =
  | 'ERR_ENGINE_DISPOSED'
  | 'ERR_ENGINE_BUSY'
  | 'ERR_ENGINE_INPUT'
  | 'ERR_ENGINE_RANGE'
  | 'ERR_ENGINE_NATIVE'
  | 'ERR_ENGINE_LOAD'
  | 'ERR_ENGINE_PRECISION'
  | 'ERR_SAFETENSORS';

/** A typed engine failure. Errors from C++ carry the JavaScript caller's stack. */
export class EngineError extends EvonasError {
  declare readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string) {
    super(code, message);
  }
}

/** Captures the caller's stack now, to attach to an error that arrives later from C++. */
export function callSite(): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, callSite);
  return holder.stack ?? '';
}

/** Re-raises a native error as an EngineError with the stack captured at the call. */
export function fromNative(e: unknown, site: string): EngineError {
  const err = e as { code?: string; message?: string };
  const code = (typeof err?.code === 'string' && err.code.startsWith('ERR_ENGINE') ? err.code : 'ERR_ENGINE_NATIVE') as EngineErrorCode;
  const out = new EngineError(code, err?.message ?? String(e));
  const frames = site.split('\n').slice(1).join('\n');
  out.stack = `${out.name}: ${out.message}\n${frames}`;
  return out;
}
