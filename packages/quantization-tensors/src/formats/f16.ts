import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { readFp16, writeFp16 } from '../half.js';
import { halfFloatFormat } from './half-float-format.js';

/*
 * F16: one little-endian IEEE-754 binary16 per weight (block size 1, 2 bytes):
 *   bit 15 sign | bits 14..10 exponent (bias 15) | bits 9..0 mantissa
 * Quantizing rounds to nearest even (ggml_fp32_to_fp16_row); values past 65504 become ±Inf
 * (the registry's `quantize` refuses those). llama.cpp converts activations to F16 as well
 * (vec_dot_type F16) before the dot product.
 */
function dequantizeF16(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  for (let i = 0; i < count; i++) dst[dstOffset + i] = readFp16(src, srcOffset + 2 * i);
}

export const f16Format: BlockFormat = halfFloatFormat(GgmlType.F16, readFp16, writeFp16, dequantizeF16);

/** An F16 weight matrix; matVec rounds activations to F16 first, as llama.cpp does. */
export class F16Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(f16Format, data, rows, cols, f16Format);
  }
}
