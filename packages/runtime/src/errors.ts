import { SmallMindError } from '@smallmind/quantization-tensors';

/**
 * Typed errors of the runtime (all extend SmallMindError). Each carries a stable `code` for programmatic handling and the
 * field that identifies what is wrong (a metadata key, a tensor name, a position).
 */

/** A model config cannot be derived from the metadata: a key is missing, mistyped or inconsistent. */
export class ModelConfigError extends SmallMindError<'MISSING_KEY' | 'INVALID_VALUE' | 'INCONSISTENT' | 'UNSUPPORTED_ARCHITECTURE'> {
  override readonly name = 'ModelConfigError';
  constructor(
    code: 'MISSING_KEY' | 'INVALID_VALUE' | 'INCONSISTENT' | 'UNSUPPORTED_ARCHITECTURE',
    /** The metadata key at fault (for UNSUPPORTED_ARCHITECTURE: `general.architecture`). */
    readonly key: string,
    message: string,
  ) {
    super(code, message);
  }
}

/** A model file's tensors do not match what its config requires. Always names the tensor. */
export class ModelLoadError extends SmallMindError<'MISSING_TENSOR' | 'UNEXPECTED_TENSOR' | 'WRONG_SHAPE' | 'UNSUPPORTED_TYPE'> {
  override readonly name = 'ModelLoadError';
  constructor(
    code: 'MISSING_TENSOR' | 'UNEXPECTED_TENSOR' | 'WRONG_SHAPE' | 'UNSUPPORTED_TYPE',
    readonly tensorName: string,
    message: string,
  ) {
    super(code, message);
  }
}

/** Evaluating would run past the model's context window (or the limit the caller chose). */
export class ContextOverflowError extends SmallMindError<'CONTEXT_OVERFLOW'> {
  override readonly name = 'ContextOverflowError';
  constructor(
    /** Tokens already in the KV cache. */
    readonly position: number,
    /** Tokens the caller asked to append. */
    readonly requested: number,
    readonly contextLength: number,
  ) {
    super('CONTEXT_OVERFLOW', `context overflow: ${position} tokens in the cache + ${requested} new > context length ${contextLength}; call reset() or use a shorter input`);
  }
}

/** Bad arguments to a model call: a token id outside the vocabulary, an empty batch, bad sampler options. */
export class InvalidInputError extends SmallMindError<'TOKEN_OUT_OF_RANGE' | 'EMPTY_INPUT' | 'INVALID_OPTION'> {
  override readonly name = 'InvalidInputError';
  constructor(
    code: 'TOKEN_OUT_OF_RANGE' | 'EMPTY_INPUT' | 'INVALID_OPTION',
    /** What is wrong: e.g. `tokens[3]` or `topP`. */
    readonly field: string,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A session or model used after `dispose()`. */
export class SessionError extends SmallMindError<'SESSION_DISPOSED' | 'MODEL_DISPOSED'> {
  override readonly name = 'SessionError';
  constructor(
    code: 'SESSION_DISPOSED' | 'MODEL_DISPOSED',
    readonly field: string,
    message: string,
  ) {
    super(code, message);
  }
}
