import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16, writeFp16 } from '../half.js';
import { Q8_K_BLOCK_BYTES, Q8_K_QS_OFFSET, QK_K, asInt8, f, makeQkx2Quants, nearestInt, q8KGroupSum, q8KScale } from './k-quant-shared.js';
import { q8KFormat } from './q8_k.js';


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
    let out = dstOffset + block * QK_K;
    let sub = 0;
    for (let half = 0; half < 2; half++) {
      const q = base + QS + 32 * half;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const sc = src[base + sub++] as number;
          const dl = f(d * (sc & 0xf));
          const ml = f(dmin * (sc >> 4));
          for (let l = 16 * part; l < 16 * part + 16; l++) {
            dst[out++] = f(f(dl * (((src[q + l] as number) >> shift) & 3)) - ml);
          }
        }
      }
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
      const [scale, min] = makeQkx2Quants(16, 3, src, x + 16 * j, absWeights, levels, 16 * j, f(-0.5), f(0.1), 15, true);
      subScales[j] = scale;
      subMins[j] = min;
      if (scale > maxScale) maxScale = scale;
      if (min > maxMin) maxMin = min;
    }
    if (maxScale > 0) {
      const iscale = f(Q4_SCALE / maxScale);
      for (let j = 0; j < 16; j++) dst[base + j] = nearestInt(f(iscale * (subScales[j] as number))) & 0xff;
      writeFp16(dst, base + D, f(maxScale / Q4_SCALE));
    } else {
      dst.fill(0, base, base + 16);
      writeFp16(dst, base + D, 0);
    }
    if (maxMin > 0) {
      const iscale = f(Q4_SCALE / maxMin);
      for (let j = 0; j < 16; j++) {
        dst[base + j] = ((dst[base + j] as number) | (nearestInt(f(iscale * (subMins[j] as number))) << 4)) & 0xff;
      }
      writeFp16(dst, base + DMIN, f(maxMin / Q4_SCALE));
    } else {
      writeFp16(dst, base + DMIN, 0);
    }
    const d = readFp16(dst, base + D);
    const dmin = readFp16(dst, base + DMIN);
    for (let j = 0; j < 16; j++) {
      const sc = dst[base + j] as number;
      const dl = f(d * (sc & 0xf));
      if (dl === 0) continue;
      const ml = f(dmin * (sc >> 4));
      for (let l = 0; l < 16; l++) {
        const q = nearestInt(f(f((src[x + 16 * j + l] as number) + ml) / dl));
        levels[16 * j + l] = q < 0 ? 0 : q > 3 ? 3 : q;
      }
    }
    for (let half = 0; half < 2; half++) {
      for (let l = 0; l < 32; l++) {
        const j = 128 * half + l;
        dst[base + QS + 32 * half + l] =
          (levels[j] as number) |
          ((levels[j + 32] as number) << 2) |
          ((levels[j + 64] as number) << 4) |
          ((levels[j + 96] as number) << 6);
      }
    }
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
    const q8 = act + Q8_K_QS_OFFSET;
    let summs = 0;
    for (let j = 0; j < 16; j++) summs += q8KGroupSum(a, act, j) * ((w[base + j] as number) >> 4);
    const dy = q8KScale(a, act);
    const dall = f(dy * readFp16(w, base + D));
    const dmin = f(dy * readFp16(w, base + DMIN));
    let isum = 0;
    let sub = 0;
    let qa = q8;
    for (let half = 0; half < 2; half++) {
      const q = base + QS + 32 * half;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const scale = (w[base + sub++] as number) & 0xf;
          let isuml = 0;
          for (let l = 16 * part; l < 16 * part + 16; l++) {
            isuml += asInt8(a[qa + l] as number) * (((w[q + l] as number) >> shift) & 3);
          }
          isum += scale * isuml;
        }
        qa += 32;
      }
    }
    sum = f(sum + f(f(dall * isum) - f(dmin * summs)));
  }
  return sum;
}

export const q2KFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q2_K),
  vecDotType: GgmlType.Q8_K,
  dequantize: dequantizeQ2K,
  quantize: quantizeQ2K,
  vecDot: vecDotQ2K,
};

/** A Q2_K weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class Q2KTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q2KFormat, data, rows, cols, q8KFormat);
  }
}
