import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { readBf16, writeBf16 } from '../half.js';
import { halfFloatFormat } from './half-float-format.js';

/*
 * BF16: the upper 16 bits of an IEEE-754 binary32, little-endian (block size 1, 2 bytes):
 *   bit 15 sign | bits 14..7 exponent (bias 127) | bits 6..0 mantissa
 * Quantizing is ggml_compute_fp32_to_bf16: round to nearest even, NaN kept quiet. llama.cpp
 * converts activations to BF16 as well (vec_dot_type BF16) before the dot product.
 */
function dequantizeBf16(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  for (let i = 0; i < count; i++) dst[dstOffset + i] = readBf16(src, srcOffset + 2 * i);
}

export const bf16Format: BlockFormat = halfFloatFormat(GgmlType.BF16, readBf16, writeBf16, dequantizeBf16);

/** A BF16 weight matrix; matVec rounds activations to BF16 first, as llama.cpp does. */
export class BF16Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(bf16Format, data, rows, cols, bf16Format);
  }
}
