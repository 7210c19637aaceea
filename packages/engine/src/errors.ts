import { SmallMindError } from '@smallmind/quantization-tensors';

/** Codes of `EngineError`. */
export const EngineErrorCode = {
  /** The model path's extension is neither .gguf nor .smq. */
  UNSUPPORTED_MODEL_FILE: 'UNSUPPORTED_MODEL_FILE',
  /** The model file does not exist or is not a regular file. */
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  /** `generate` was called before `loadModel`. */
  NO_MODEL_LOADED: 'NO_MODEL_LOADED',
  /** The encoded prompt does not fit the model's context window. */
  PROMPT_TOO_LONG: 'PROMPT_TOO_LONG',
  /** An option is out of range. */
  INVALID_OPTION: 'INVALID_OPTION',
  /** A cached import is damaged and its source GGUF file is gone, so it cannot be re-imported. */
  CACHE_ENTRY_CORRUPT: 'CACHE_ENTRY_CORRUPT',
  /** A chat no longer fits the context window and the caller chose `contextOverflow: 'error'`. */
  CONTEXT_FULL: 'CONTEXT_FULL',
  /** The inference worker could not start or died. */
  WORKER_FAILED: 'WORKER_FAILED',
  /** The engine (or a session) was used after `dispose()`. */
  ENGINE_DISPOSED: 'ENGINE_DISPOSED',
  /** A session was used after its `dispose()`. */
  SESSION_DISPOSED: 'SESSION_DISPOSED',
  /** A session got a second generation while one is running. */
  SESSION_BUSY: 'SESSION_BUSY',
  /** Browser: a model URL could not be fetched (the message names the URL and the HTTP status). */
  MODEL_FETCH_FAILED: 'MODEL_FETCH_FAILED',
  /** Browser: the model source is neither a URL, a Blob/File nor an ArrayBuffer, or its bytes are neither GGUF nor SMQ. */
  UNSUPPORTED_SOURCE: 'UNSUPPORTED_SOURCE',
} as const;
export type EngineErrorCode = (typeof EngineErrorCode)[keyof typeof EngineErrorCode];

/** A misuse of the engine facade; `field` names the option or argument at fault. */
export class EngineError extends SmallMindError<EngineErrorCode> {
  override readonly name = 'EngineError';
  constructor(
    code: EngineErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(code, message);
  }
}
