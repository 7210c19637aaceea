import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16, writeFp16 } from '../half.js';
import { Q8_K_BLOCK_BYTES, Q8_K_QS_OFFSET, QK_K, makeQkx2Quants, nearestInt, pack2BitLevels, q8KGroupSum, q8KScale } from './k-quant-shared.js';
import { q8_kFormat } from './q8_k.js';

// Local, not imported: V8 only inlines Math.fround through a module-local binding.
const fround = Math.fround;


/**
 * Q2_K: 256 weights in 16 sub-blocks of 16, x = d * scale_j * q - dmin * min_j, q in 0..3.
 * 84 bytes per block:
 *
 *   offset  0  scales[16]  low nibble = 4-bit scale_j, high nibble = 4-bit min_j
 *   offset 16  qs[64]      2-bit quants: each 128-weight half uses 32 bytes; weight
 *                          128h + 32s + l (l < 32) is bits 2s..2s+1 of qs[32h + l]
 *   offset 80  d           fp16 super-scale of the scales
 *   offset 82  dmin        fp16 super-scale of the mins
 *
 * Sub-block j covers weights 16j .. 16j+15, so within a half the 32 bytes serve two sub-blocks
 * (bytes 0-15 and 16-31) at each of the 4 shifts.
 */
const BLOCK_BYTES = 84;

const QS = 16;
const D = 80;
const DMIN = 82;

function dequantizeQ2K(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const base = srcOffset + block * BLOCK_BYTES;
    const d = readFp16(src, base + D);
    const dmin = readFp16(src, base + DMIN);
    for (let sub = 0; sub < 16; sub++) {
      // Sub-block `sub` = weights 16 sub .. 16 sub + 15: half sub >> 3, shift 2 * ((sub >> 1) & 3),
      // bytes 16 * (sub & 1) .. + 15 of that half's 32 quant bytes.
      const sc = src[base + sub] as number;
      const dl = fround(d * (sc & 0xf));
      const ml = fround(dmin * (sc >> 4));
      const q = base + QS + 32 * (sub >> 3) + 16 * (sub & 1);
      const shift = 2 * ((sub >> 1) & 3);
      const out = dstOffset + block * QK_K + 16 * sub;
      for (let l = 0; l < 16; l++) dst[out + l] = fround(fround(dl * (((src[q + l] as number) >> shift) & 3)) - ml);
    }
  }
}

const levels = new Uint8Array(QK_K);
const subScales = new Float32Array(16);
const subMins = new Float32Array(16);
const absWeights = new Float32Array(16);
const Q4_SCALE = 15;

/**
 * quantize_row_q2_K_ref: per sub-block, make_qkx2_quants (nmax 3, weights |x|, mean absolute
 * error, 16 trial scales) fits scale and min; scales and mins are then quantized to 4 bits
 * against their maxima, and the quants are recomputed from the rounded (fp16) scales.
 */
function quantizeQ2K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const x = srcOffset + block * QK_K;
    const base = dstOffset + block * BLOCK_BYTES;
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 16; j++) {
      for (let l = 0; l < 16; l++) absWeights[l] = Math.abs(src[x + 16 * j + l] as number);
      const [scale, min] = makeQkx2Quants(16, 3, src, x + 16 * j, absWeights, levels, 16 * j, fround(-0.5), fround(0.1), 15, true);
      subScales[j] = scale;
      subMins[j] = min;
      if (scale > maxScale) maxScale = scale;
      if (min > maxMin) maxMin = min;
    }
    if (maxScale > 0) {
      const iscale = fround(Q4_SCALE / maxScale);
      for (let j = 0; j < 16; j++) dst[base + j] = nearestInt(fround(iscale * (subScales[j] as number))) & 0xff;
      writeFp16(dst, base + D, fround(maxScale / Q4_SCALE));
    } else {
      dst.fill(0, base, base + 16);
      writeFp16(dst, base + D, 0);
    }
    if (maxMin > 0) {
      const iscale = fround(Q4_SCALE / maxMin);
      for (let j = 0; j < 16; j++) {
        dst[base + j] = ((dst[base + j] as number) | (nearestInt(fround(iscale * (subMins[j] as number))) << 4)) & 0xff;
      }
      writeFp16(dst, base + DMIN, fround(maxMin / Q4_SCALE));
    } else {
      writeFp16(dst, base + DMIN, 0);
    }
    const d = readFp16(dst, base + D);
    const dmin = readFp16(dst, base + DMIN);
    for (let j = 0; j < 16; j++) {
      const sc = dst[base + j] as number;
      const dl = fround(d * (sc & 0xf));
      if (dl === 0) continue;
      const ml = fround(dmin * (sc >> 4));
      for (let l = 0; l < 16; l++) {
        const q = nearestInt(fround(fround((src[x + 16 * j + l] as number) + ml) / dl));
        levels[16 * j + l] = q < 0 ? 0 : q > 3 ? 3 : q;
      }
    }
    pack2BitLevels(levels, dst, base + QS);
  }
}

/**
 * ggml_vec_dot_q2_K_q8_K: integer dot per 16-weight sub-block times its 4-bit scale; the mins
 * enter once per sub-block through Q8_K's bsums. Per block the result is
 * d_x*d_y * isum - dmin_x*d_y * summs, with the scale products rounded to float32 as in ggml;
 * blocks are summed in float32.
 */
function vecDotQ2K(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  let sum = 0;
  for (let block = 0; block < count / QK_K; block++) {
    const base = wOffset + block * BLOCK_BYTES;
    const act = aOffset + block * Q8_K_BLOCK_BYTES;
    let isum = 0;
    let summs = 0;
    for (let sub = 0; sub < 16; sub++) {
      const sc = w[base + sub] as number;
      const q = base + QS + 32 * (sub >> 3) + 16 * (sub & 1);
      const shift = 2 * ((sub >> 1) & 3);
      const q8 = act + Q8_K_QS_OFFSET + 16 * sub;
      let isuml = 0;
      for (let l = 0; l < 16; l++) isuml += (((a[q8 + l] as number) << 24) >> 24) * (((w[q + l] as number) >> shift) & 3);
      isum += (sc & 0xf) * isuml;
      summs += (sc >> 4) * q8KGroupSum(a, act, sub);
    }
    const dy = q8KScale(a, act);
    const dall = fround(dy * readFp16(w, base + D));
    const dmin = fround(dy * readFp16(w, base + DMIN));
    sum = fround(sum + fround(fround(dall * isum) - fround(dmin * summs)));
  }
  return sum;
}

export const q2_kFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q2_K),
  vecDotType: GgmlType.Q8_K,
  dequantize: dequantizeQ2K,
  quantize: quantizeQ2K,
  vecDot: vecDotQ2K,
};

/** A Q2_K weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class Q2_KTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q2_kFormat, data, rows, cols, q8_kFormat);
  }
}
