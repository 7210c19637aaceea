import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { QK, levelBlockDequantizer, quantizeMinScaleBlock } from './legacy-block-math.js';
import { minScaleVecDot } from './min-scale-vec-dot.js';
import { q8_1Format } from './q8_1.js';

/*
 * Q5_1: 32 weights per 24-byte block.
 *   offset 0  d       fp16   scale
 *   offset 2  m       fp16   block minimum
 *   offset 4  qh      u32 LE bit j = bit 4 of element j's level
 *   offset 8  qs[16]  u8     low 4 bits: element j = low nibble of qs[j], element j+16 = high nibble
 *   x = level * d + m, level in 0..31
 * Activations are quantized to Q8_1 (whose s = d * sum(q) adds m once per block).
 */
const BLOCK_BYTES = 24;
const QH_OFFSET = 4;
const QS_OFFSET = 8;

const levels = new Uint8Array(QK);

function quantizeQ5_1(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK; block++) {
    quantizeMinScaleBlock(src, srcOffset + block * QK, dst, dstOffset + block * BLOCK_BYTES, 32, QS_OFFSET, QH_OFFSET, levels);
  }
}

export const q5_1Format: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q5_1),
  vecDotType: q8_1Format.info.id,
  dequantize: levelBlockDequantizer(BLOCK_BYTES, QS_OFFSET, QH_OFFSET, 'with-min'),
  quantize: quantizeQ5_1,
  /** ggml_vec_dot_q5_1_q8_1. */
  vecDot: minScaleVecDot(BLOCK_BYTES, QS_OFFSET, QH_OFFSET),
};

/** A Q5_1 weight matrix; matVec quantizes activations to Q8_1. */
export class Q5_1Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q5_1Format, data, rows, cols, q8_1Format);
  }
}
