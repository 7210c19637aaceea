import type { BlockFormat } from '../block-format.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { writeFp16 } from '../half.js';
import { QK } from './legacy-block-math.js';
import { int8BlockDequantizer, quantizeQ8Block } from './q8_0.js';

/*
 * Q8_1: 32 values per 36-byte block; the activation type llama.cpp quantizes to for Q4_1 and Q5_1
 * weights (never stored in model files).
 *   offset 0  d       fp16   scale
 *   offset 2  s       fp16   d * sum(qs): lets the Q4_1/Q5_1 dot add the weight minimum once per block
 *   offset 4  qs[32]  int8   x[j] = qs[j] * d
 * ggml has no dequantize_row_q8_1 and no Q8_1 x Q8_1 dot product; `dequantize` here is the natural
 * qs * d, and there is no `vecDot`.
 */
const BLOCK_BYTES = 36;
const QS_OFFSET = 4;

/** quantize_row_q8_1_ref: Q8_0's rounding, plus s = fp16(sum(qs) * d). */
function quantizeQ8_1(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK; block++) {
    const base = dstOffset + block * BLOCK_BYTES;
    const { d, sum } = quantizeQ8Block(src, srcOffset + block * QK, dst, base, QS_OFFSET);
    writeFp16(dst, base + 2, Math.fround(sum * d));
  }
}

export const q8_1Format: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q8_1),
  vecDotType: GgmlType.Q8_1,
  dequantize: int8BlockDequantizer(BLOCK_BYTES, QS_OFFSET),
  quantize: quantizeQ8_1,
};
