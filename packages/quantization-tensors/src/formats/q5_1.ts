import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { levelBlockFormat, type LevelBlockLayout } from './level-blocks.js';
import { q8_1Format } from './q8_1.js';

/*
 * Q5_1: 32 weights per 24-byte block.
 *   offset 0  d       fp16   scale
 *   offset 2  m       fp16   block minimum
 *   offset 4  qh      u32 LE bit j = bit 4 of element j's level
 *   offset 8  qs[16]  u8     low 4 bits: element j = low nibble of qs[j], element j+16 = high nibble
 *   x = level * d + m, level in 0..31
 * Activations are quantized to Q8_1, whose s = d * sum(q) adds m once per block
 * (ggml_vec_dot_q5_1_q8_1).
 */
const LAYOUT: LevelBlockLayout = { blockBytes: 24, levelCount: 32, qsOffset: 8, qhOffset: 4, minOffset: 2 };

export const q5_1Format: BlockFormat = levelBlockFormat(GgmlType.Q5_1, LAYOUT, 'scale-product-times-sum');

/** A Q5_1 weight matrix; matVec quantizes activations to Q8_1. */
export class Q5_1Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q5_1Format, data, rows, cols, q8_1Format);
  }
}
