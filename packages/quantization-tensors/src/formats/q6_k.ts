import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { readFp16, writeFp16 } from '../half.js';
import {
  QK_K,
  makeQxQuants,
  nearestInt,
  signedSubBlockFormat,
  type SignedSubBlockLayout,
} from './k-quant-shared.js';
import { signedAbsMax } from './legacy-block-math.js';
import { q8_kFormat } from './q8_k.js';

// Local, not imported: V8 only inlines Math.fround through a module-local binding.
const fround = Math.fround;

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

/**
 * Writes the 16 signed quants (q - 32, in -32..31) of sub-block `sub` (weights 16 sub ..
 * 16 sub + 15) of the block at `base` into `out`. A sub-block never straddles a 32-weight run, so
 * its 16 low nibbles come from one nibble side of consecutive ql bytes and its high bits from one
 * bit pair of consecutive qh bytes.
 */
function q6KSubBlock(bytes: Uint8Array, base: number, sub: number, out: Int8Array): void {
  const half = sub >> 3;
  const within = 16 * (sub & 7);
  const ql = base + 64 * half + (within & 63);
  const lowShift = within & 64 ? 4 : 0;
  const qh = base + QH + 32 * half + (within & 31);
  const highShift = 2 * (within >> 5);
  for (let l = 0; l < 16; l++) {
    out[l] = ((((bytes[ql + l] as number) >> lowShift) & 0xf) | ((((bytes[qh + l] as number) >> highShift) & 3) << 4)) - 32;
  }
}
const LAYOUT: SignedSubBlockLayout = {
  blockBytes: BLOCK_BYTES,
  d: D,
  scale: (bytes, base, sub) => ((bytes[base + SCALES + sub] as number) << 24) >> 24,
  quants: q6KSubBlock,
};

const levels = new Int8Array(QK_K);
const subScales = new Float32Array(16);
// ggml's GROUP_MAX_EPS: a block whose best scale is below it is stored as all zeros.
const GROUP_MAX_EPS = fround(1e-15);

/**
 * quantize_row_q6_K_ref: make_qx_quants (nmax 32, x^2 weights, 19 trial scales) per sub-block;
 * the 16 scales to int8 against the one of largest magnitude (iscale = -128/max, capped at 127);
 * then the quants recomputed from the rounded scales.
 */
function quantizeQ6K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const x = srcOffset + block * QK_K;
    const base = dstOffset + block * BLOCK_BYTES;
    for (let sub = 0; sub < 16; sub++) subScales[sub] = makeQxQuants(16, 32, src, x + 16 * sub, levels, 16 * sub);
    const maxScale = signedAbsMax(subScales, 0, 16);
    if (Math.abs(maxScale) < GROUP_MAX_EPS) {
      dst.fill(0, base, base + BLOCK_BYTES);
      continue;
    }
    const iscale = fround(-128 / maxScale);
    writeFp16(dst, base + D, fround(1 / iscale));
    for (let sub = 0; sub < 16; sub++) {
      dst[base + SCALES + sub] = Math.min(127, nearestInt(fround(iscale * (subScales[sub] as number)))) & 0xff;
    }
    const d = readFp16(dst, base + D);
    for (let sub = 0; sub < 16; sub++) {
      const dl = fround(d * (((dst[base + SCALES + sub] as number) << 24) >> 24));
      if (dl === 0) continue;
      for (let i = 16 * sub; i < 16 * sub + 16; i++) {
        const q = nearestInt(fround((src[x + i] as number) / dl));
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

/** Dequantize and vecDot are the shared Q3_K/Q6_K block loops over `LAYOUT` (see `signedSubBlockFormat`). */
export const q6_kFormat: BlockFormat = signedSubBlockFormat(GgmlType.Q6_K, LAYOUT, quantizeQ6K);

/** A Q6_K weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class Q6_KTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q6_kFormat, data, rows, cols, q8_kFormat);
  }
}
