import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { readFp16, writeFp16 } from '../half.js';
import {
  QK_K,
  makeQ3Quants,
  nearestInt,
  pack2BitLevels,
  signedSubBlockFormat,
  type SignedSubBlockLayout,
} from './k-quant-shared.js';
import { signedAbsMax } from './legacy-block-math.js';
import { q8_kFormat } from './q8_k.js';

// Local, not imported: V8 only inlines Math.fround through a module-local binding.
const fround = Math.fround;

/**
 * Q3_K: 256 weights in 16 sub-blocks of 16, x = d * (scale_j - 32) * q, q in -4..3 (no min).
 * 110 bytes per block:
 *
 *   offset   0  hmask[32]   high bit of each quant; weight 128h + 32s + l (l < 32) uses bit
 *                           4h + s of hmask[l]; bit SET means q = low2 (0..3), CLEAR means low2 - 4
 *   offset  32  qs[64]      low 2 bits, packed like Q2_K (bits 2s..2s+1 of qs[32h + l])
 *   offset  96  scales[12]  sixteen 6-bit scales (stored +32): scale j's low 4 bits are the low
 *                           (j < 8) or high (j >= 8) nibble of byte j % 8; its top 2 bits are bits
 *                           2*(j/4)..+1 of byte 8 + j % 4
 *   offset 108  d           fp16 super-scale
 */
const BLOCK_BYTES = 110;
const QS = 32;
const SCALES = 96;
const D = 108;

/** Signed 6-bit scale of sub-block j (already minus 32) from the 12 packed bytes at `offset`. */
function q3KScale(bytes: Uint8Array, offset: number, j: number): number {
  const low = j < 8 ? (bytes[offset + j] as number) & 0xf : (bytes[offset + j - 8] as number) >> 4;
  const high = ((bytes[offset + 8 + (j % 4)] as number) >> (2 * (j >> 2))) & 3;
  return (low | (high << 4)) - 32;
}

/**
 * Writes the 16 signed quants (-4..3) of sub-block `sub` (weights 16 sub .. 16 sub + 15) of the
 * block at `base` into `out`. Low bits: bytes 16 (sub & 1) .. + 15 of half sub >> 3 of qs, at bit
 * 2 ((sub >> 1) & 3). High bit: weight 32k + m (m < 32) keeps it in bit k of hmask[m], so here
 * bit sub >> 1 of hmask[16 (sub & 1) + l]. The stored level low | high << 2 is q + 4.
 */
function q3KSubBlock(bytes: Uint8Array, base: number, sub: number, out: Int8Array): void {
  const qs = base + QS + 32 * (sub >> 3) + 16 * (sub & 1);
  const shift = 2 * ((sub >> 1) & 3);
  const hmask = base + 16 * (sub & 1);
  const hbit = sub >> 1;
  for (let l = 0; l < 16; l++) {
    out[l] = ((((bytes[qs + l] as number) >> shift) & 3) | ((((bytes[hmask + l] as number) >> hbit) & 1) << 2)) - 4;
  }
}
const LAYOUT: SignedSubBlockLayout = {
  blockBytes: BLOCK_BYTES,
  d: D,
  scale: (bytes, base, sub) => q3KScale(bytes, base + SCALES, sub),
  quants: q3KSubBlock,
};

const levels = new Int8Array(QK_K);
const subScales = new Float32Array(16);

/**
 * quantize_row_q3_K_ref: make_q3_quants (nmax 4, x^2-weighted refinement) per sub-block, the 16
 * scales quantized to signed 6 bits against the one of largest magnitude (iscale = -32/max, so
 * that one lands on -32), then the quants recomputed from the rounded scales.
 */
function quantizeQ3K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const x = srcOffset + block * QK_K;
    const base = dstOffset + block * BLOCK_BYTES;
    for (let j = 0; j < 16; j++) subScales[j] = makeQ3Quants(16, 4, src, x + 16 * j, levels, 16 * j);
    const maxScale = signedAbsMax(subScales, 0, 16);
    dst.fill(0, base + SCALES, base + SCALES + 12);
    if (maxScale !== 0) {
      const iscale = fround(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        // int8_t l = nearest_int(...): the value is within ±32 here, so no truncation shows.
        let l = (nearestInt(fround(iscale * (subScales[j] as number))) << 24) >> 24;
        l = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
        if (j < 8) dst[base + SCALES + j] = l & 0xf;
        else dst[base + SCALES + j - 8] = (dst[base + SCALES + j - 8] as number) | ((l & 0xf) << 4);
        const top = base + SCALES + 8 + (j % 4);
        dst[top] = (dst[top] as number) | ((l >> 4) << (2 * (j >> 2)));
      }
      writeFp16(dst, base + D, fround(1 / iscale));
    } else {
      writeFp16(dst, base + D, 0);
    }
    const d = readFp16(dst, base + D);
    for (let j = 0; j < 16; j++) {
      const dl = fround(d * q3KScale(dst, base + SCALES, j));
      if (dl === 0) continue;
      for (let l = 0; l < 16; l++) {
        const q = nearestInt(fround((src[x + 16 * j + l] as number) / dl));
        levels[16 * j + l] = (q < -4 ? -4 : q > 3 ? 3 : q) + 4;
      }
    }
    // High bit of weight j goes to bit j / 32 of hmask[j % 32]; the low 2 bits pack like Q2_K.
    dst.fill(0, base, base + 32);
    for (let j = 0; j < QK_K; j++) {
      let level = levels[j] as number;
      if (level > 3) {
        dst[base + (j % 32)] = (dst[base + (j % 32)] as number) | (1 << (j >> 5));
        level -= 4;
      }
      levels[j] = level;
    }
    pack2BitLevels(levels, dst, base + QS);
  }
}

/** Dequantize and vecDot are the shared Q3_K/Q6_K block loops over `LAYOUT` (see `signedSubBlockFormat`). */
export const q3_kFormat: BlockFormat = signedSubBlockFormat(GgmlType.Q3_K, LAYOUT, quantizeQ3K);

/** A Q3_K weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class Q3_KTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q3_kFormat, data, rows, cols, q8_kFormat);
  }
}
