import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { levelBlockFormat, type LevelBlockLayout } from './level-blocks.js';
import { q8_0Format } from './q8_0.js';

/*
 * Q4_0: 32 weights per 18-byte block.
 *   offset 0  d       fp16   scale (negative: the largest-magnitude weight maps to level 0)
 *   offset 2  qs[16]  u8     element j = low nibble of qs[j], element j+16 = high nibble
 *   x = (level - 8) * d, level in 0..15
 * Activations are quantized to Q8_0 for the dot product (ggml_vec_dot_q4_0_q8_0).
 */
const LAYOUT: LevelBlockLayout = { blockBytes: 18, levelCount: 16, qsOffset: 2, qhOffset: -1, minOffset: -1 };

export const q4_0Format: BlockFormat = levelBlockFormat(GgmlType.Q4_0, LAYOUT, 'sum-times-weight-then-activation-scale');

/** A Q4_0 weight matrix; matVec quantizes activations to Q8_0. */
export class Q4_0Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q4_0Format, data, rows, cols, q8_0Format);
  }
}
