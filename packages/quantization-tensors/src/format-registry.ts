import type { BlockFormat } from './block-format.js';
import { BlockWeightTensor, shapeToRowsCols } from './block-weight-tensor.js';
import { QuantizationError, UnsupportedGgmlTypeError } from './errors.js';
import { ggmlTypeInfo, type GgmlTypeId, type GgmlTypeInfo } from './ggml-type.js';
import type { IWeightTensor } from './weight-tensor.js';
import { BF16Tensor, bf16Format } from './formats/bf16.js';
import { F16Tensor, f16Format } from './formats/f16.js';
import { F32Tensor, f32Format } from './formats/f32.js';
import { Q4_0Tensor, q4_0Format } from './formats/q4_0.js';
import { Q4_1Tensor, q4_1Format } from './formats/q4_1.js';
import { Q5_0Tensor, q5_0Format } from './formats/q5_0.js';
import { Q5_1Tensor, q5_1Format } from './formats/q5_1.js';
import { Q8_0Tensor, q8_0Format } from './formats/q8_0.js';
import { q8_1Format } from './formats/q8_1.js';
import { Q2_KTensor, q2_kFormat } from './formats/q2_k.js';
import { Q3_KTensor, q3_kFormat } from './formats/q3_k.js';
import { Q4_KTensor, q4_kFormat } from './formats/q4_k.js';
import { Q5_KTensor, q5_kFormat } from './formats/q5_k.js';
import { Q6_KTensor, q6_kFormat } from './formats/q6_k.js';
import { q8_kFormat } from './formats/q8_k.js';
import { IQ3_XXSTensor, iq3_xxsFormat } from './formats/iq3_xxs.js';
import { IQ4_NLTensor, iq4_nlFormat } from './formats/iq4_nl.js';
import { IQ3_STensor, iq3_sFormat } from './formats/iq3_s.js';
import { IQ4_XSTensor, iq4_xsFormat } from './formats/iq4_xs.js';

/** A tensor class bound to one format: `new Tensor(data, rows, cols)`. */
export type WeightTensorConstructor = new (data: Uint8Array, rows: number, cols: number) => IWeightTensor;

/**
 * One supported ggml type: its `BlockFormat`, and optionally a named tensor class. Without
 * `Tensor`, `createWeightTensor` builds a `BlockWeightTensor` with the registered format of
 * `format.vecDotType` as its activation format.
 */
export interface FormatRegistration {
  readonly format: BlockFormat;
  readonly Tensor?: WeightTensorConstructor;
}

const registrations: readonly FormatRegistration[] = [
  { format: f32Format, Tensor: F32Tensor },
  { format: f16Format, Tensor: F16Tensor },
  { format: bf16Format, Tensor: BF16Tensor },
  { format: q4_0Format, Tensor: Q4_0Tensor },
  { format: q4_1Format, Tensor: Q4_1Tensor },
  { format: q5_0Format, Tensor: Q5_0Tensor },
  { format: q5_1Format, Tensor: Q5_1Tensor },
  { format: q8_0Format, Tensor: Q8_0Tensor },
  { format: q8_1Format },
  { format: q2_kFormat, Tensor: Q2_KTensor },
  { format: q3_kFormat, Tensor: Q3_KTensor },
  { format: q4_kFormat, Tensor: Q4_KTensor },
  { format: q5_kFormat, Tensor: Q5_KTensor },
  { format: q6_kFormat, Tensor: Q6_KTensor },
  { format: q8_kFormat },
  { format: iq3_xxsFormat, Tensor: IQ3_XXSTensor },
  { format: iq4_nlFormat, Tensor: IQ4_NLTensor },
  { format: iq3_sFormat, Tensor: IQ3_STensor },
  { format: iq4_xsFormat, Tensor: IQ4_XSTensor },
];

const registrationById = new Map<GgmlTypeId, FormatRegistration>(registrations.map((entry) => [entry.format.info.id, entry]));

function registration(type: GgmlTypeId, operation: 'dequantize' | 'tensor'): FormatRegistration {
  const info = ggmlTypeInfo(type); // throws UnknownGgmlTypeError for ids we do not know at all
  const entry = registrationById.get(type);
  if (entry === undefined) throw new UnsupportedGgmlTypeError(type, info.name, operation);
  return entry;
}

/**
 * The `BlockFormat` of a ggml type. Throws `UnknownGgmlTypeError` for an id this library does not
 * know, `UnsupportedGgmlTypeError` for a known type without an implementation.
 */
export function blockFormat(type: GgmlTypeId): BlockFormat {
  return registration(type, 'dequantize').format;
}

/** True when `blockFormat(type)` would succeed (the type can at least be dequantized). */
export function isSupportedGgmlType(type: GgmlTypeId): boolean {
  return registrationById.has(type);
}

/** Layout facts of every supported type, in id order. */
export function supportedGgmlTypes(): GgmlTypeInfo[] {
  return registrations.map((entry) => entry.format.info).sort((a, b) => a.id - b.id);
}

function invalidCount(info: GgmlTypeInfo, what: string, value: number): QuantizationError {
  return new QuantizationError('INVALID_COUNT', `${what} ${value} is not a non-negative integer`, { typeName: info.name });
}

/**
 * Bytes that `count` weights of `type` occupy. Throws `QuantizationError` (`INVALID_COUNT`,
 * `PARTIAL_BLOCK`) when `count` is not a whole number of blocks.
 */
export function byteLengthFor(type: GgmlTypeId, count: number): number {
  const info = ggmlTypeInfo(type);
  if (!Number.isSafeInteger(count) || count < 0) throw invalidCount(info, 'count', count);
  if (count % info.blockSize !== 0) {
    throw new QuantizationError('PARTIAL_BLOCK', `count ${count} is not a multiple of the block size ${info.blockSize}`, { typeName: info.name });
  }
  return (count / info.blockSize) * info.typeSize;
}

/**
 * Dequantizes `count` weights of `type` from `src` at byte `srcOffset` into `dst` at `dstOffset`.
 * Validates everything first (count, offsets, both lengths), so a bad call writes nothing.
 */
export function dequantizeInto(type: GgmlTypeId, src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  const format = blockFormat(type);
  const { info } = format;
  const byteLength = byteLengthFor(type, count);
  if (!Number.isSafeInteger(srcOffset) || srcOffset < 0) throw invalidCount(info, 'source byte offset', srcOffset);
  if (!Number.isSafeInteger(dstOffset) || dstOffset < 0) throw invalidCount(info, 'output offset', dstOffset);
  if (src.length - srcOffset < byteLength) {
    throw new QuantizationError(
      'BYTES_TOO_SHORT',
      `${count} weights need ${byteLength} bytes from byte ${srcOffset}, but the buffer has ${Math.max(0, src.length - srcOffset)}`,
      { typeName: info.name, byteOffset: srcOffset },
    );
  }
  if (dst.length - dstOffset < count) {
    throw new QuantizationError('OUTPUT_TOO_SHORT', `output has room for ${Math.max(0, dst.length - dstOffset)} values from ${dstOffset}, needs ${count}`, {
      typeName: info.name,
    });
  }
  format.dequantize(src, srcOffset, dst, dstOffset, count);
}

/**
 * Dequantizes a whole buffer of `type` blocks holding exactly `count` weights. A length that is not
 * whole blocks, or whole blocks for a different count, is a `QuantizationError`
 * (`BYTES_NOT_WHOLE_BLOCKS`, `BYTES_TOO_SHORT`, `BYTES_TOO_LONG`); pass a subarray to read part of
 * a larger buffer, or use `dequantizeInto`.
 */
export function dequantize(type: GgmlTypeId, bytes: Uint8Array, count: number): Float32Array {
  const format = blockFormat(type);
  const { info } = format;
  const byteLength = byteLengthFor(type, count);
  if (bytes.length % info.typeSize !== 0) {
    throw new QuantizationError(
      'BYTES_NOT_WHOLE_BLOCKS',
      `${bytes.length} bytes is not a whole number of ${info.typeSize}-byte blocks (the last block starts at byte ${bytes.length - (bytes.length % info.typeSize)})`,
      { typeName: info.name, byteOffset: bytes.length - (bytes.length % info.typeSize) },
    );
  }
  if (bytes.length !== byteLength) {
    const code = bytes.length < byteLength ? 'BYTES_TOO_SHORT' : 'BYTES_TOO_LONG';
    throw new QuantizationError(code, `${count} weights are ${byteLength} bytes, the buffer has ${bytes.length}`, {
      typeName: info.name,
      byteOffset: Math.min(bytes.length, byteLength),
    });
  }
  const out = new Float32Array(count);
  format.dequantize(bytes, 0, out, 0, count);
  return out;
}

/**
 * Quantizes `values` to `type` with the format's reference quantizer (byte-identical to llama.cpp's
 * `quantize_row_*_ref` / gguf-py). Throws:
 * - `UnsupportedGgmlTypeError` (operation `quantize`) when the type has no quantizer;
 * - `QuantizationError` `PARTIAL_BLOCK` when values.length is not a multiple of the block size;
 * - `NON_FINITE_INPUT` naming the first NaN/±Inf index (for every type, F32 included);
 * - `NOT_REPRESENTABLE` naming the first block whose stored values would be ±Inf (finite input too
 *   large for the format, e.g. |x| > 65504 in F16, or a Q8_0 scale past the fp16 range).
 */
export function quantize(type: GgmlTypeId, values: Float32Array): Uint8Array {
  const format = blockFormat(type);
  const { info } = format;
  if (format.quantize === undefined) throw new UnsupportedGgmlTypeError(type, info.name, 'quantize');
  const out = new Uint8Array(byteLengthFor(type, values.length));
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new QuantizationError('NON_FINITE_INPUT', `value ${values[i]} at index ${i} cannot be quantized`, { typeName: info.name, index: i });
    }
  }
  format.quantize(values, 0, out, 0, values.length);
  const check = new Float32Array(info.blockSize);
  for (let block = 0; block < values.length / info.blockSize; block++) {
    format.dequantize(out, block * info.typeSize, check, 0, info.blockSize);
    if (!check.every(Number.isFinite)) {
      throw new QuantizationError(
        'NOT_REPRESENTABLE',
        `block ${block} (values ${block * info.blockSize}..${(block + 1) * info.blockSize - 1}) exceeds the format's range`,
        { typeName: info.name, index: block * info.blockSize, byteOffset: block * info.typeSize },
      );
    }
  }
  return out;
}

/**
 * Wraps raw block bytes (no copy) as the tensor class of `type`. `shape` is in ggml `ne` order:
 * shape[0] is the row length, the other dims multiply into rows. Throws `WeightTensorError` for a
 * bad shape or a data length that does not match it, `UnsupportedGgmlTypeError`/`UnknownGgmlTypeError`
 * for types without an implementation.
 */
export function createWeightTensor(type: GgmlTypeId, data: Uint8Array, shape: readonly number[]): IWeightTensor {
  const entry = registration(type, 'tensor');
  const { rows, cols } = shapeToRowsCols(shape);
  if (entry.Tensor !== undefined) return new entry.Tensor(data, rows, cols);
  const partner = registrationById.get(entry.format.vecDotType)?.format;
  return new BlockWeightTensor(entry.format, data, rows, cols, partner);
}
