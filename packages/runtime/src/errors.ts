/**
 * Typed errors of the runtime. Each carries a stable `code` for programmatic handling and the
 * field that identifies what is wrong (a metadata key, a tensor name, a position).
 */

/** A model config cannot be derived from the metadata: a key is missing, mistyped or inconsistent. */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
  constructor(
    readonly code: 'MISSING_KEY' | 'INVALID_VALUE' | 'INCONSISTENT' | 'UNSUPPORTED_ARCHITECTURE',
    /** The metadata key at fault (for UNSUPPORTED_ARCHITECTURE: `general.architecture`). */
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** A model file's tensors do not match what its config requires. Always names the tensor. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  constructor(
    readonly code: 'MISSING_TENSOR' | 'UNEXPECTED_TENSOR' | 'WRONG_SHAPE' | 'UNSUPPORTED_TYPE',
    readonly tensorName: string,
    message: string,
  ) {
    super(message);
  }
}

/** Evaluating would run past the model's context window (or the limit the caller chose). */
export class ContextOverflowError extends Error {
  override readonly name = 'ContextOverflowError';
  readonly code = 'CONTEXT_OVERFLOW';
  constructor(
    /** Tokens already in the KV cache. */
    readonly position: number,
    /** Tokens the caller asked to append. */
    readonly requested: number,
    readonly contextLength: number,
  ) {
    super(`context overflow: ${position} tokens in the cache + ${requested} new > context length ${contextLength}; call reset() or use a shorter input`);
  }
}

/** Bad arguments to a model call: a token id outside the vocabulary, an empty batch, bad sampler options. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  constructor(
    readonly code: 'TOKEN_OUT_OF_RANGE' | 'EMPTY_INPUT' | 'INVALID_OPTION',
    /** What is wrong: e.g. `tokens[3]` or `topP`. */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** A session or model used after `dispose()`. */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  constructor(
    readonly code: 'SESSION_DISPOSED' | 'MODEL_DISPOSED',
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
