import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { QK, levelBlockDequantizer, quantizeMinScaleBlock } from './legacy-block-math.js';
import { minScaleVecDot } from './min-scale-vec-dot.js';
import { q8_1Format } from './q8_1.js';

/*
 * Q4_1: 32 weights per 20-byte block.
 *   offset 0  d       fp16   scale
 *   offset 2  m       fp16   block minimum
 *   offset 4  qs[16]  u8     element j = low nibble of qs[j], element j+16 = high nibble
 *   x = level * d + m, level in 0..15
 * Activations are quantized to Q8_1 (whose s = d * sum(q) adds m once per block).
 */
const BLOCK_BYTES = 20;
const QS_OFFSET = 4;

const levels = new Uint8Array(QK);

function quantizeQ4_1(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK; block++) {
    quantizeMinScaleBlock(src, srcOffset + block * QK, dst, dstOffset + block * BLOCK_BYTES, 16, QS_OFFSET, -1, levels);
  }
}

export const q4_1Format: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q4_1),
  vecDotType: q8_1Format.info.id,
  dequantize: levelBlockDequantizer(BLOCK_BYTES, QS_OFFSET, -1, 'with-min'),
  quantize: quantizeQ4_1,
  /** ggml_vec_dot_q4_1_q8_1. */
  vecDot: minScaleVecDot(BLOCK_BYTES, QS_OFFSET, -1),
};

/** A Q4_1 weight matrix; matVec quantizes activations to Q8_1. */
export class Q4_1Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q4_1Format, data, rows, cols, q8_1Format);
  }
}
