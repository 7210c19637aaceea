import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { levelBlockFormat, type LevelBlockLayout } from './level-blocks.js';
import { q8_1Format } from './q8_1.js';

/*
 * Q4_1: 32 weights per 20-byte block.
 *   offset 0  d       fp16   scale
 *   offset 2  m       fp16   block minimum
 *   offset 4  qs[16]  u8     element j = low nibble of qs[j], element j+16 = high nibble
 *   x = level * d + m, level in 0..15
 * Activations are quantized to Q8_1, whose s = d * sum(q) adds m once per block
 * (ggml_vec_dot_q4_1_q8_1).
 */
const LAYOUT: LevelBlockLayout = { blockBytes: 20, levelCount: 16, qsOffset: 4, qhOffset: -1, minOffset: 2 };

export const q4_1Format: BlockFormat = levelBlockFormat(GgmlType.Q4_1, LAYOUT, 'scale-product-times-sum');

/** A Q4_1 weight matrix; matVec quantizes activations to Q8_1. */
export class Q4_1Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q4_1Format, data, rows, cols, q8_1Format);
  }
}
