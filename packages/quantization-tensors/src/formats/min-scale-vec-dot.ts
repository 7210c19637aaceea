import type { BlockFormat } from '../block-format.js';
import { readFp16 } from '../half.js';
import { QK, int8View, levelDot, unpackLevels } from './legacy-block-math.js';

/** Q8_1 activation block: d fp16 at 0, s fp16 at 2, qs int8[32] at 4. */
const Q8_1_BLOCK_BYTES = 36;
const Q8_1_QS_OFFSET = 4;

/**
 * The dot product of a min/scale format (Q4_1, Q5_1) with Q8_1 activations, as
 * ggml_vec_dot_q4_1_q8_1 / q5_1_q8_1: per block (d_w * d_a) * sumi + m_w * s_a, where sumi sums
 * level * q and s_a = d_a * sum(q) carries the minimum; accumulated in float32.
 */
export function minScaleVecDot(blockBytes: number, qsOffset: number, qhOffset: number): NonNullable<BlockFormat['vecDot']> {
  const levels = new Uint8Array(QK);
  return (count, w, wOffset, a, aOffset) => {
    const aq = int8View(a);
    let sum = 0;
    for (let block = 0; block < count / QK; block++) {
      const wBase = wOffset + block * blockBytes;
      const aBase = aOffset + block * Q8_1_BLOCK_BYTES;
      unpackLevels(w, wBase + qsOffset, qhOffset < 0 ? -1 : wBase + qhOffset, levels);
      const sumi = levelDot(levels, 0, aq, aBase + Q8_1_QS_OFFSET);
      const scaled = Math.fround(Math.fround(readFp16(w, wBase) * readFp16(a, aBase)) * sumi);
      const minimum = Math.fround(readFp16(w, wBase + 2) * readFp16(a, aBase + 2));
      sum = Math.fround(sum + Math.fround(scaled + minimum));
    }
    return sum;
  };
}
