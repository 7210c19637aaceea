import type { GgmlTypeId } from './ggml-type.js';

/**
 * Base of every error SmallMind throws on purpose, in every package: `code` is a stable, machine-readable
 * reason to branch on (`err instanceof SmallMindError && err.code === 'TRUNCATED'`), `name` the subclass, and
 * the message says what is wrong and where. Lives here because every package depends on this one.
 */
export abstract class SmallMindError<Code extends string = string> extends Error {
  /** The subclass's name, e.g. `SmqFormatError`; each subclass sets it (stack traces and logs show it). */
  abstract override readonly name: string;
  constructor(
    readonly code: Code,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Why a quantize/dequantize call refused its input. */
export type QuantizationErrorCode =
  /** `count` is negative, fractional, or not a safe integer; or an offset is. */
  | 'INVALID_COUNT'
  /** `count` is not a multiple of the type's block size. */
  | 'PARTIAL_BLOCK'
  /** The byte buffer's length is not a whole number of blocks. */
  | 'BYTES_NOT_WHOLE_BLOCKS'
  /** The byte buffer holds fewer blocks than `count` needs. */
  | 'BYTES_TOO_SHORT'
  /** The byte buffer holds more blocks than `count` needs. */
  | 'BYTES_TOO_LONG'
  /** The output buffer cannot hold the result. */
  | 'OUTPUT_TOO_SHORT'
  /** `quantize` was given NaN or ±Infinity. */
  | 'NON_FINITE_INPUT'
  /** A finite input is too large for the format (a scale or value would become ±Inf). */
  | 'NOT_REPRESENTABLE';

export interface QuantizationErrorDetails {
  /** ggml type name, e.g. `Q4_0`. */
  readonly typeName: string;
  /** Byte offset into the block data where the problem is, when there is one. */
  readonly byteOffset?: number;
  /** Index of the offending value (element index into the input), when there is one. */
  readonly index?: number;
}

/** Bad input to `quantize`/`dequantize`: the `code` says what, the details say where. */
export class QuantizationError extends SmallMindError<QuantizationErrorCode> {
  override readonly name = 'QuantizationError';
  readonly typeName: string;
  readonly byteOffset: number | undefined;
  readonly index: number | undefined;
  constructor(code: QuantizationErrorCode, message: string, details: QuantizationErrorDetails) {
    super(code, `${details.typeName}: ${message}`);
    this.typeName = details.typeName;
    this.byteOffset = details.byteOffset;
    this.index = details.index;
  }
}

/** A known ggml type this library has no implementation of (for the named operation). */
export class UnsupportedGgmlTypeError extends SmallMindError<'UNSUPPORTED_TYPE'> {
  override readonly name = 'UnsupportedGgmlTypeError';
  constructor(
    readonly typeId: GgmlTypeId,
    readonly typeName: string,
    readonly operation: 'dequantize' | 'quantize' | 'tensor',
  ) {
    super(
      'UNSUPPORTED_TYPE',
      operation === 'quantize'
        ? `ggml type ${typeName} (id ${typeId}) has no quantizer in this library`
        : `ggml type ${typeName} (id ${typeId}) is not supported by this library`,
    );
  }
}

/** Why a weight tensor refused its shape, data or call arguments. */
export type WeightTensorErrorCode =
  /** The shape is empty, has more than 4 dims, or a dim is not a positive safe integer. */
  | 'BAD_SHAPE'
  /** The row length (ne[0]) is not a multiple of the type's block size. */
  | 'ROW_NOT_WHOLE_BLOCKS'
  /** The data length differs from rows * bytes per row. */
  | 'DATA_LENGTH_MISMATCH'
  /** A row index outside 0..rows-1. */
  | 'ROW_OUT_OF_RANGE'
  /** An input or output array is shorter than the call needs. */
  | 'BUFFER_TOO_SHORT'
  /** The activation format given is not the weight format's `vecDotType`, or does not tile a row. */
  | 'ACTIVATION_FORMAT_MISMATCH';

/** Bad tensor construction or call: `code` says what; the message names the tensor's type and shape. */
export class WeightTensorError extends SmallMindError<WeightTensorErrorCode> {
  override readonly name = 'WeightTensorError';
  constructor(code: WeightTensorErrorCode, message: string) {
    super(code, message);
  }
}
