/**
 * Typed errors of the GGUF reader, writer and importer. Every error carries a string `code` so callers
 * (and tests) can branch on what went wrong without parsing messages.
 */
import { SmallMindError } from '@smallmind/quantization-tensors';

/** Base class of every error this package throws on purpose: `code` says what went wrong. */
export abstract class GgufError<Code extends string = string> extends SmallMindError<Code> {}

/** What can be wrong with the bytes of a GGUF file. */
export const GgufFormatErrorCode = {
  BAD_MAGIC: 'BAD_MAGIC',
  INVALID_VERSION: 'INVALID_VERSION',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  WRONG_ENDIANNESS: 'WRONG_ENDIANNESS',
  TRUNCATED: 'TRUNCATED',
  COUNT_TOO_LARGE: 'COUNT_TOO_LARGE',
  HEADER_TOO_LARGE: 'HEADER_TOO_LARGE',
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  DUPLICATE_TENSOR_NAME: 'DUPLICATE_TENSOR_NAME',
  INVALID_ALIGNMENT: 'INVALID_ALIGNMENT',
  NAME_TOO_LONG: 'NAME_TOO_LONG',
  STRING_TOO_LONG: 'STRING_TOO_LONG',
  INVALID_UTF8: 'INVALID_UTF8',
  INVALID_BOOL: 'INVALID_BOOL',
  UNKNOWN_VALUE_TYPE: 'UNKNOWN_VALUE_TYPE',
  NESTING_TOO_DEEP: 'NESTING_TOO_DEEP',
  TOO_MANY_DIMS: 'TOO_MANY_DIMS',
  INVALID_DIMENSION: 'INVALID_DIMENSION',
  UNKNOWN_TENSOR_TYPE: 'UNKNOWN_TENSOR_TYPE',
  ROW_NOT_BLOCK_ALIGNED: 'ROW_NOT_BLOCK_ALIGNED',
  SIZE_OVERFLOW: 'SIZE_OVERFLOW',
  OFFSET_NOT_ALIGNED: 'OFFSET_NOT_ALIGNED',
  TENSOR_OUT_OF_BOUNDS: 'TENSOR_OUT_OF_BOUNDS',
  TENSOR_OVERLAP: 'TENSOR_OVERLAP',
} as const;
export type GgufFormatErrorCode = (typeof GgufFormatErrorCode)[keyof typeof GgufFormatErrorCode];

/**
 * The file is not a GGUF file we can read. `field` names the part of the file (e.g. `header.version`,
 * `metadata["general.alignment"]`, `tensors["blk.0.attn_q.weight"].shape[1]`), `offset` is the absolute
 * byte offset in the file where the offending item starts.
 */
export class GgufFormatError extends GgufError<GgufFormatErrorCode> {
  override readonly name = 'GgufFormatError';
  constructor(
    code: GgufFormatErrorCode,
    readonly field: string,
    readonly offset: number,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${detail} (${code} at ${field}, byte offset ${offset})`, options);
  }
}

/** Misuse of an open reader, or an I/O failure while reading one. */
export const GgufReadErrorCode = {
  TENSOR_NOT_FOUND: 'TENSOR_NOT_FOUND',
  CLOSED: 'CLOSED',
  SHORT_READ: 'SHORT_READ',
  /** `readTensorsInto` was given a target whose length is not the tensor's byte length. */
  TARGET_SIZE_MISMATCH: 'TARGET_SIZE_MISMATCH',
  /** `readTensorsInto` was given the same tensor twice. */
  DUPLICATE_TARGET: 'DUPLICATE_TARGET',
} as const;
export type GgufReadErrorCode = (typeof GgufReadErrorCode)[keyof typeof GgufReadErrorCode];

export class GgufReadError extends GgufError<GgufReadErrorCode> {
  override readonly name = 'GgufReadError';
  constructor(
    code: GgufReadErrorCode,
    readonly tensorName: string | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${detail} (${code})`, options);
  }
}

/** Invalid input to `GgufWriter`, or a write that cannot complete. */
export const GgufWriteErrorCode = {
  INVALID_METADATA: 'INVALID_METADATA',
  INVALID_TENSOR: 'INVALID_TENSOR',
  DUPLICATE_TENSOR_NAME: 'DUPLICATE_TENSOR_NAME',
  UNKNOWN_TENSOR: 'UNKNOWN_TENSOR',
  TOO_MUCH_DATA: 'TOO_MUCH_DATA',
  INCOMPLETE_TENSOR: 'INCOMPLETE_TENSOR',
  DESTINATION_EXISTS: 'DESTINATION_EXISTS',
  NOT_WRITABLE: 'NOT_WRITABLE',
} as const;
export type GgufWriteErrorCode = (typeof GgufWriteErrorCode)[keyof typeof GgufWriteErrorCode];

export class GgufWriteError extends GgufError<GgufWriteErrorCode> {
  override readonly name = 'GgufWriteError';
  constructor(
    code: GgufWriteErrorCode,
    /** The metadata key, tensor name or path concerned, when there is one. */
    readonly subject: string | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${detail} (${code}${subject === undefined ? '' : ` for "${subject}"`})`, options);
  }
}
