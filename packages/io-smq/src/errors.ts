/**
 * Typed errors of the SMQ reader and writer. Every error has a stable string `code`; format errors also say
 * where in the file (`offset`) and which field, so a damaged file can be diagnosed from the message alone.
 */
import { SmallMindError } from '@smallmind/quantization-tensors';

/** Codes of `SmqFormatError`: what is wrong with a file's bytes (see SPEC.md for each rule). */
export const SmqFormatErrorCode = {
  BAD_MAGIC: 'BAD_MAGIC',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  UNSUPPORTED_FLAGS: 'UNSUPPORTED_FLAGS',
  UNSUPPORTED_ALIGNMENT: 'UNSUPPORTED_ALIGNMENT',
  RESERVED_NOT_ZERO: 'RESERVED_NOT_ZERO',
  TRUNCATED: 'TRUNCATED',
  PREFIX_CHECKSUM_MISMATCH: 'PREFIX_CHECKSUM_MISMATCH',
  HEADER_CHECKSUM_MISMATCH: 'HEADER_CHECKSUM_MISMATCH',
  BAD_HEADER_LENGTH: 'BAD_HEADER_LENGTH',
  HEADER_TOO_LARGE: 'HEADER_TOO_LARGE',
  HEADER_LENGTH_MISMATCH: 'HEADER_LENGTH_MISMATCH',
  BAD_DATA_OFFSET: 'BAD_DATA_OFFSET',
  FILE_LENGTH_MISMATCH: 'FILE_LENGTH_MISMATCH',
  NUMBER_TOO_LARGE: 'NUMBER_TOO_LARGE',
  COUNT_TOO_LARGE: 'COUNT_TOO_LARGE',
  STRING_TOO_LONG: 'STRING_TOO_LONG',
  INVALID_UTF8: 'INVALID_UTF8',
  BAD_KEY: 'BAD_KEY',
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  UNKNOWN_VALUE_TYPE: 'UNKNOWN_VALUE_TYPE',
  BAD_BOOL: 'BAD_BOOL',
  NESTING_TOO_DEEP: 'NESTING_TOO_DEEP',
  BAD_PROVENANCE: 'BAD_PROVENANCE',
  BAD_TENSOR_NAME: 'BAD_TENSOR_NAME',
  DUPLICATE_TENSOR: 'DUPLICATE_TENSOR',
  UNKNOWN_TENSOR_TYPE: 'UNKNOWN_TENSOR_TYPE',
  UNKNOWN_LAYOUT: 'UNKNOWN_LAYOUT',
  NO_DIMS: 'NO_DIMS',
  TOO_MANY_DIMS: 'TOO_MANY_DIMS',
  ZERO_DIM: 'ZERO_DIM',
  ROW_NOT_BLOCK_MULTIPLE: 'ROW_NOT_BLOCK_MULTIPLE',
  SIZE_OVERFLOW: 'SIZE_OVERFLOW',
  SIZE_MISMATCH: 'SIZE_MISMATCH',
  MISALIGNED_TENSOR: 'MISALIGNED_TENSOR',
  TENSOR_OVERLAP: 'TENSOR_OVERLAP',
  TENSOR_GAP: 'TENSOR_GAP',
  TENSOR_OUT_OF_FILE: 'TENSOR_OUT_OF_FILE',
  PADDING_NOT_ZERO: 'PADDING_NOT_ZERO',
  TENSOR_CHECKSUM_MISMATCH: 'TENSOR_CHECKSUM_MISMATCH',
} as const;
export type SmqFormatErrorCode = (typeof SmqFormatErrorCode)[keyof typeof SmqFormatErrorCode];

/** Codes of `SmqWriteError`: bad input to the writer, misuse of it, or a refused target. */
export const SmqWriteErrorCode = {
  TARGET_EXISTS: 'TARGET_EXISTS',
  INVALID_METADATA: 'INVALID_METADATA',
  INVALID_PROVENANCE: 'INVALID_PROVENANCE',
  INVALID_TENSOR: 'INVALID_TENSOR',
  DUPLICATE_TENSOR: 'DUPLICATE_TENSOR',
  HEADER_TOO_LARGE: 'HEADER_TOO_LARGE',
  OUT_OF_ORDER: 'OUT_OF_ORDER',
  TOO_MUCH_DATA: 'TOO_MUCH_DATA',
  INCOMPLETE: 'INCOMPLETE',
  CONCURRENT_CALL: 'CONCURRENT_CALL',
  WRITER_CLOSED: 'WRITER_CLOSED',
  /** Writing to a file path is not available on this platform (browser build: write to an SmqWriteTarget). */
  UNSUPPORTED: 'UNSUPPORTED',
} as const;
export type SmqWriteErrorCode = (typeof SmqWriteErrorCode)[keyof typeof SmqWriteErrorCode];

/** Codes of `SmqReadError`: misuse of an open reader. */
export const SmqReadErrorCode = {
  TENSOR_NOT_FOUND: 'TENSOR_NOT_FOUND',
  READER_CLOSED: 'READER_CLOSED',
  TARGET_SIZE_MISMATCH: 'TARGET_SIZE_MISMATCH',
  TENSOR_TOO_LARGE: 'TENSOR_TOO_LARGE',
  DUPLICATE_TARGET: 'DUPLICATE_TARGET',
} as const;
export type SmqReadErrorCode = (typeof SmqReadErrorCode)[keyof typeof SmqReadErrorCode];

/** Base of every error this package throws on purpose. */
export abstract class SmqError<Code extends string = string> extends SmallMindError<Code> {}

export interface SmqFormatErrorDetails {
  /** Absolute byte offset in the file of the offending field or byte. */
  readonly offset: number;
  /** The field, e.g. `prefix.version`, `metadata["general.name"]`, `tensors[3].offset`. */
  readonly field: string;
  /** The tensor concerned, when there is one. */
  readonly tensor?: string;
}

/** The bytes of an SMQ file break a rule of SPEC.md. */
export class SmqFormatError extends SmqError<SmqFormatErrorCode> {
  override readonly name = 'SmqFormatError';
  readonly offset: number;
  readonly field: string;
  readonly tensor: string | undefined;
  constructor(code: SmqFormatErrorCode, detail: string, where: SmqFormatErrorDetails) {
    super(code, `${code} at byte ${where.offset} (${where.field}): ${detail}`);
    this.offset = where.offset;
    this.field = where.field;
    this.tensor = where.tensor;
  }
}

/** The writer was given something it cannot write, or was used out of order. */
export class SmqWriteError extends SmqError<SmqWriteErrorCode> {
  override readonly name = 'SmqWriteError';
  constructor(
    code: SmqWriteErrorCode,
    detail: string,
    /** The input concerned, e.g. `tensors[2].shape`, `metadata["general.name"]`, or the target path. */
    readonly field?: string,
  ) {
    super(code, field === undefined ? `${code}: ${detail}` : `${code} (${field}): ${detail}`);
  }
}

/** An open reader was asked for something it does not have, or used after close(). */
export class SmqReadError extends SmqError<SmqReadErrorCode> {
  override readonly name = 'SmqReadError';
  constructor(code: SmqReadErrorCode, detail: string) {
    super(code, `${code}: ${detail}`);
  }
}

/** Codes of `ByteSourceError`: why a `ByteSource` could not deliver the bytes asked for. */
export const ByteSourceErrorCode = {
  /** The offset or length is not a non-negative integer, or the range ends past the source's size. */
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  /** The data ended before the source's size said it would (e.g. a file truncated after open). */
  SHORT_READ: 'SHORT_READ',
  /** The source was read after `close()`. */
  CLOSED: 'CLOSED',
  /** A URL source's server answered with an error status, or the request failed (message names the URL). */
  FETCH_FAILED: 'FETCH_FAILED',
  /** This kind of source does not exist on this platform (a file path in a browser build). */
  UNSUPPORTED: 'UNSUPPORTED',
} as const;
export type ByteSourceErrorCode = (typeof ByteSourceErrorCode)[keyof typeof ByteSourceErrorCode];

/** A `ByteSource` read that cannot be served; `offset` is where it failed, `length` what was asked for. */
export class ByteSourceError extends SmallMindError<ByteSourceErrorCode> {
  override readonly name = 'ByteSourceError';
  readonly offset: number;
  readonly length: number;
  constructor(code: ByteSourceErrorCode, detail: string, where: { readonly offset: number; readonly length: number }) {
    super(code, `${code}: ${detail}`);
    this.offset = where.offset;
    this.length = where.length;
  }
}
