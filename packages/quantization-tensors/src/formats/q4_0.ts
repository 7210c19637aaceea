import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16 } from '../half.js';
import { QK, int8View, levelBlockDequantizer, levelDot, quantizeSymmetricBlock, unpackLevels } from './legacy-block-math.js';
import { q8_0Format } from './q8_0.js';

/*
 * Q4_0: 32 weights per 18-byte block.
 *   offset 0  d       fp16   scale (negative: the largest-magnitude weight maps to level 0)
 *   offset 2  qs[16]  u8     element j = low nibble of qs[j], element j+16 = high nibble
 *   x = (level - 8) * d, level in 0..15
 * Activations are quantized to Q8_0 for the dot product.
 */
const BLOCK_BYTES = 18;
const QS_OFFSET = 2;
const LEVEL_OFFSET = 8;

const levels = new Uint8Array(QK);

function quantizeQ4_0(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK; block++) {
    quantizeSymmetricBlock(src, srcOffset + block * QK, dst, dstOffset + block * BLOCK_BYTES, 16, QS_OFFSET, -1, levels);
  }
}

/** ggml_vec_dot_q4_0_q8_0: per block sumi * d_w * d_a (in that order), accumulated in float32. */
function vecDotQ4_0(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  const aq = int8View(a);
  let sum = 0;
  for (let block = 0; block < count / QK; block++) {
    const wBase = wOffset + block * BLOCK_BYTES;
    const aBase = aOffset + block * 34;
    unpackLevels(w, wBase + QS_OFFSET, -1, levels);
    const sumi = levelDot(levels, LEVEL_OFFSET, aq, aBase + 2);
    sum = Math.fround(sum + Math.fround(Math.fround(sumi * readFp16(w, wBase)) * readFp16(a, aBase)));
  }
  return sum;
}

export const q4_0Format: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q4_0),
  vecDotType: q8_0Format.info.id,
  dequantize: levelBlockDequantizer(BLOCK_BYTES, QS_OFFSET, -1, { levelOffset: LEVEL_OFFSET }),
  quantize: quantizeQ4_0,
  vecDot: vecDotQ4_0,
};

/** A Q4_0 weight matrix; matVec quantizes activations to Q8_0. */
export class Q4Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q4_0Format, data, rows, cols, q8_0Format);
  }
}
