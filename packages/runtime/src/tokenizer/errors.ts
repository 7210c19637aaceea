import { SmallMindError } from '@smallmind/quantization-tensors';

/** What can be wrong when building a tokenizer from metadata or when calling it. */
export const TokenizerErrorCode = {
  /** A required `tokenizer.ggml.*` key is absent. */
  MISSING_KEY: 'MISSING_KEY',
  /** A key is present but has the wrong type, length or an impossible value. */
  INVALID_METADATA: 'INVALID_METADATA',
  /** `tokenizer.ggml.model` names a tokenizer family we do not implement (e.g. `bert`, `t5`). */
  UNSUPPORTED_MODEL: 'UNSUPPORTED_MODEL',
  /** `tokenizer.ggml.pre` names a BPE pre-tokenizer we do not implement. */
  UNSUPPORTED_PRE_TOKENIZER: 'UNSUPPORTED_PRE_TOKENIZER',
  /** The same token text appears twice in `tokenizer.ggml.tokens`. */
  DUPLICATE_TOKEN: 'DUPLICATE_TOKEN',
  /** A token id passed by the caller is outside the vocabulary. */
  TOKEN_OUT_OF_RANGE: 'TOKEN_OUT_OF_RANGE',
  /** BOS/EOS was requested but the vocabulary defines no such token. */
  MISSING_SPECIAL_TOKEN: 'MISSING_SPECIAL_TOKEN',
} as const;
export type TokenizerErrorCode = (typeof TokenizerErrorCode)[keyof typeof TokenizerErrorCode];

/**
 * A tokenizer cannot be built from the given metadata, or was called with bad input. `field` names what
 * is at fault: a metadata key (`tokenizer.ggml.tokens`), an array element (`tokenizer.ggml.tokens[17]`)
 * or an argument (`ids[3]`).
 */
export class TokenizerError extends SmallMindError<TokenizerErrorCode> {
  override readonly name = 'TokenizerError';
  constructor(
    code: TokenizerErrorCode,
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${message} (${code} at ${field})`, options);
  }
}
