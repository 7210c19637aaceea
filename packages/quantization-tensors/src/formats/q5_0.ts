import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16 } from '../half.js';
import { QK, int8View, levelBlockDequantizer, levelDot, quantizeSymmetricBlock, unpackLevels } from './legacy-block-math.js';
import { q8_0Format } from './q8_0.js';

/*
 * Q5_0: 32 weights per 22-byte block.
 *   offset 0  d       fp16   scale (negative: the largest-magnitude weight maps to level 0)
 *   offset 2  qh      u32 LE bit j = bit 4 of element j's level
 *   offset 6  qs[16]  u8     low 4 bits: element j = low nibble of qs[j], element j+16 = high nibble
 *   x = (level - 16) * d, level in 0..31
 * Activations are quantized to Q8_0 for the dot product.
 */
const BLOCK_BYTES = 22;
const QH_OFFSET = 2;
const QS_OFFSET = 6;
const LEVEL_OFFSET = 16;

const levels = new Uint8Array(QK);

function quantizeQ5_0(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK; block++) {
    quantizeSymmetricBlock(src, srcOffset + block * QK, dst, dstOffset + block * BLOCK_BYTES, 32, QS_OFFSET, QH_OFFSET, levels);
  }
}

/** ggml_vec_dot_q5_0_q8_0: per block (d_w * d_a) * sumi, accumulated in float32. */
function vecDotQ5_0(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  const aq = int8View(a);
  let sum = 0;
  for (let block = 0; block < count / QK; block++) {
    const wBase = wOffset + block * BLOCK_BYTES;
    const aBase = aOffset + block * 34;
    unpackLevels(w, wBase + QS_OFFSET, wBase + QH_OFFSET, levels);
    const sumi = levelDot(levels, LEVEL_OFFSET, aq, aBase + 2);
    sum = Math.fround(sum + Math.fround(Math.fround(readFp16(w, wBase) * readFp16(a, aBase)) * sumi));
  }
  return sum;
}

export const q5_0Format: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q5_0),
  vecDotType: q8_0Format.info.id,
  dequantize: levelBlockDequantizer(BLOCK_BYTES, QS_OFFSET, QH_OFFSET, { levelOffset: LEVEL_OFFSET }),
  quantize: quantizeQ5_0,
  vecDot: vecDotQ5_0,
};

/** A Q5_0 weight matrix; matVec quantizes activations to Q8_0. */
export class Q5_0Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q5_0Format, data, rows, cols, q8_0Format);
  }
}
