import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16, writeFp16 } from '../half.js';
import {
  Q8_K_BLOCK_BYTES,
  Q8_K_QS_OFFSET,
  QK_K,
  asInt8,
  f,
  makeQxQuants,
  nearestInt,
  q8KScale,
} from './k-quant-shared.js';
import { q8KFormat } from './q8_k.js';

/**
 * Q6_K: 256 weights in 16 sub-blocks of 16, x = d * scale_j * (q - 32), q in 0..63.
 * 210 bytes per block:
 *
 *   offset   0  ql[128]     low 4 bits: in 128-weight half h, weights 128h + l and 128h + 64 + l
 *                           (l < 64) are the low/high nibble of ql[64h + l]
 *   offset 128  qh[64]      high 2 bits: weight 128h + 32s + l (l < 32) uses bits 2s..2s+1 of
 *                           qh[32h + l]
 *   offset 192  scales[16]  int8 sub-block scales
 *   offset 208  d           fp16 super-scale
 */
const BLOCK_BYTES = 210;
const QH = 128;
const SCALES = 192;
const D = 208;

/** Signed quant (q - 32, in -32..31) of weight `index` (0..255) of the block at `base`. */
function q6KQuant(bytes: Uint8Array, base: number, index: number): number {
  const half = index >> 7;
  const within = index & 127;
  const lowByte = bytes[base + 64 * half + (within & 63)] as number;
  const low = within & 64 ? lowByte >> 4 : lowByte & 0xf;
  const high = ((bytes[base + QH + 32 * half + (within & 31)] as number) >> (2 * (within >> 5))) & 3;
  return (low | (high << 4)) - 32;
}

function dequantizeQ6K(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const base = srcOffset + block * BLOCK_BYTES;
    const d = readFp16(src, base + D);
    const out = dstOffset + block * QK_K;
    for (let sub = 0; sub < 16; sub++) {
      const dl = f(d * asInt8(src[base + SCALES + sub] as number));
      for (let i = 16 * sub; i < 16 * sub + 16; i++) dst[out + i] = f(dl * q6KQuant(src, base, i));
    }
  }
}

const levels = new Int8Array(QK_K);
const subScales = new Float32Array(16);
// ggml's GROUP_MAX_EPS: a block whose best scale is below it is stored as all zeros.
const GROUP_MAX_EPS = f(1e-15);

/**
 * quantize_row_q6_K_ref: make_qx_quants (nmax 32, x^2 weights, 19 trial scales) per sub-block;
 * the 16 scales to int8 against the one of largest magnitude (iscale = -128/max, capped at 127);
 * then the quants recomputed from the rounded scales.
 */
function quantizeQ6K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const x = srcOffset + block * QK_K;
    const base = dstOffset + block * BLOCK_BYTES;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let sub = 0; sub < 16; sub++) {
      const scale = makeQxQuants(16, 32, src, x + 16 * sub, levels, 16 * sub);
      subScales[sub] = scale;
      const abs = Math.abs(scale);
      if (abs > maxAbsScale) {
        maxAbsScale = abs;
        maxScale = scale;
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, base, base + BLOCK_BYTES);
      continue;
    }
    const iscale = f(-128 / maxScale);
    writeFp16(dst, base + D, f(1 / iscale));
    for (let sub = 0; sub < 16; sub++) {
      dst[base + SCALES + sub] = Math.min(127, nearestInt(f(iscale * (subScales[sub] as number)))) & 0xff;
    }
    const d = readFp16(dst, base + D);
    for (let sub = 0; sub < 16; sub++) {
      const dl = f(d * asInt8(dst[base + SCALES + sub] as number));
      if (dl === 0) continue;
      for (let i = 16 * sub; i < 16 * sub + 16; i++) {
        const q = nearestInt(f((src[x + i] as number) / dl));
        levels[i] = (q < -32 ? -32 : q > 31 ? 31 : q) + 32;
      }
    }
    for (let half = 0; half < 2; half++) {
      for (let l = 0; l < 32; l++) {
        const j = 128 * half + l;
        const q1 = levels[j] as number;
        const q2 = levels[j + 32] as number;
        const q3 = levels[j + 64] as number;
        const q4 = levels[j + 96] as number;
        dst[base + 64 * half + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        dst[base + 64 * half + 32 + l] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        dst[base + QH + 32 * half + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
}

/**
 * ggml_vec_dot_q6_K_q8_K: integer dot per 16-weight sub-block times its int8 scale, summed per
 * block, times d_x*d_y (float32); blocks summed in float32.
 */
function vecDotQ6K(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  let sum = 0;
  for (let block = 0; block < count / QK_K; block++) {
    const base = wOffset + block * BLOCK_BYTES;
    const act = aOffset + block * Q8_K_BLOCK_BYTES;
    const qs = act + Q8_K_QS_OFFSET;
    let isum = 0;
    for (let sub = 0; sub < 16; sub++) {
      let isuml = 0;
      for (let i = 16 * sub; i < 16 * sub + 16; i++) isuml += asInt8(a[qs + i] as number) * q6KQuant(w, base, i);
      isum += asInt8(w[base + SCALES + sub] as number) * isuml;
    }
    sum = f(sum + f(f(readFp16(w, base + D) * q8KScale(a, act)) * isum));
  }
  return sum;
}

export const q6KFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q6_K),
  vecDotType: GgmlType.Q8_K,
  dequantize: dequantizeQ6K,
  quantize: quantizeQ6K,
  vecDot: vecDotQ6K,
};

/** A Q6_K weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class Q6KTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q6KFormat, data, rows, cols, q8KFormat);
  }
}
