import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16, writeFp16 } from '../half.js';
import { QK, absMax, int8View, inverseScale, roundHalfAwayFromZero } from './legacy-block-math.js';

/*
 * Q8_0: 32 weights per 34-byte block.
 *   offset 0  d       fp16   scale
 *   offset 2  qs[32]  int8   x[j] = qs[j] * d
 * Also the activation type llama.cpp quantizes to for Q4_0, Q5_0, Q8_0 and IQ4_NL weights.
 */
const BLOCK_BYTES = 34;

/** Dequantizer of a block of 32 int8 quants at `qsOffset` after an fp16 scale (Q8_0, Q8_1): x = q * d. */
export function int8BlockDequantizer(blockBytes: number, qsOffset: number): BlockFormat['dequantize'] {
  return (src, srcOffset, dst, dstOffset, count) => {
    const qs = int8View(src);
    for (let block = 0; block < count / QK; block++) {
      const base = srcOffset + block * blockBytes;
      const d = readFp16(src, base);
      const out = dstOffset + block * QK;
      for (let j = 0; j < QK; j++) dst[out + j] = qs[base + qsOffset + j]! * d;
    }
  };
}

/**
 * Quantizes one block as quantize_row_q8_0_ref / q8_1_ref: d = amax / 127 (float32), then
 * q = roundf(x * (1/d)). Writes d (fp16) and the 32 quants at `base`, `base + qsOffset`; returns the
 * float32 d and the sum of the quants (Q8_1 stores d * sum).
 */
export function quantizeQ8Block(
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  base: number,
  qsOffset: number,
): { d: number; sum: number } {
  const d = Math.fround(absMax(src, srcOffset, QK) / 127);
  const id = inverseScale(d);
  writeFp16(dst, base, d);
  let sum = 0;
  for (let j = 0; j < QK; j++) {
    const q = roundHalfAwayFromZero(Math.fround(src[srcOffset + j]! * id));
    dst[base + qsOffset + j] = q & 0xff;
    sum += q;
  }
  return { d, sum };
}

function quantizeQ8_0(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK; block++) {
    quantizeQ8Block(src, srcOffset + block * QK, dst, dstOffset + block * BLOCK_BYTES, 2);
  }
}

/** ggml_vec_dot_q8_0_q8_0: integer sum per block, times (d_w * d_a), accumulated in float32. */
function vecDotQ8_0(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  const wq = int8View(w);
  const aq = int8View(a);
  let sum = 0;
  for (let block = 0; block < count / QK; block++) {
    const wBase = wOffset + block * BLOCK_BYTES;
    const aBase = aOffset + block * BLOCK_BYTES;
    let sumi = 0;
    for (let j = 2; j < BLOCK_BYTES; j++) sumi += wq[wBase + j]! * aq[aBase + j]!;
    sum = Math.fround(sum + Math.fround(sumi * Math.fround(readFp16(w, wBase) * readFp16(a, aBase))));
  }
  return sum;
}

export const q8_0Format: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q8_0),
  vecDotType: GgmlType.Q8_0,
  dequantize: int8BlockDequantizer(BLOCK_BYTES, 2),
  quantize: quantizeQ8_0,
  vecDot: vecDotQ8_0,
};

/** A Q8_0 weight matrix; matVec quantizes activations to Q8_0. */
export class Q8_0Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q8_0Format, data, rows, cols, q8_0Format);
  }
}
