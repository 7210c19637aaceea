import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { levelBlockFormat, type LevelBlockLayout } from './level-blocks.js';
import { q8_0Format } from './q8_0.js';

/*
 * Q5_0: 32 weights per 22-byte block.
 *   offset 0  d       fp16   scale (negative: the largest-magnitude weight maps to level 0)
 *   offset 2  qh      u32 LE bit j = bit 4 of element j's level
 *   offset 6  qs[16]  u8     low 4 bits: element j = low nibble of qs[j], element j+16 = high nibble
 *   x = (level - 16) * d, level in 0..31
 * Activations are quantized to Q8_0 for the dot product (ggml_vec_dot_q5_0_q8_0).
 */
const LAYOUT: LevelBlockLayout = { blockBytes: 22, levelCount: 32, qsOffset: 6, qhOffset: 2, minOffset: -1 };

export const q5_0Format: BlockFormat = levelBlockFormat(GgmlType.Q5_0, LAYOUT, 'scale-product-times-sum');

/** A Q5_0 weight matrix; matVec quantizes activations to Q8_0. */
export class Q5_0Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q5_0Format, data, rows, cols, q8_0Format);
  }
}
