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
