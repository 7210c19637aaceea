import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import {
  QK_K,
  asInt8,
  dequantizeScaleMinK4,
  f,
  fitScaleMinK4,
  requantizeScaleMinK4,
  vecDotScaleMinK4,
} from './k-quant-shared.js';
import { q8KFormat } from './q8_k.js';

/**
 * Q4_K: 256 weights in 8 sub-blocks of 32, x = d * scale_j * q - dmin * min_j, q in 0..15.
 * 144 bytes per block:
 *
 *   offset  0  d           fp16 super-scale of the scales
 *   offset  2  dmin        fp16 super-scale of the mins
 *   offset  4  scales[12]  eight 6-bit scales and eight 6-bit mins (see `scaleMinK4`)
 *   offset 16  qs[128]     4-bit quants: 64-weight group g uses qs[32g .. 32g+31]; its first 32
 *                          weights (sub-block 2g) are the low nibbles, the next 32 (2g+1) the high
 */
const BLOCK_BYTES = 144;
const QS = 16;

/** Quant (0..15) of weight `index` (0..255) of the block at `base` of `bytes`. */
function q4KQuant(bytes: Uint8Array, base: number, index: number): number {
  const byte = bytes[base + QS + 32 * (index >> 6) + (index & 31)] as number;
  return index & 32 ? byte >> 4 : byte & 0xf;
}

function dequantizeQ4K(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  dequantizeScaleMinK4(src, srcOffset, BLOCK_BYTES, dst, dstOffset, count, (base, i) => q4KQuant(src, base, i));
}

const levels = new Uint8Array(QK_K);

/**
 * quantize_row_q4_K_ref: make_qkx2_quants per sub-block (nmax 15, weights rms(x) + |x|, 21 trial
 * scales starting 1 below nmax/range), 6-bit scales and mins against their maxima, then the quants
 * recomputed from the rounded scales.
 */
function quantizeQ4K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const x = srcOffset + block * QK_K;
    const base = dstOffset + block * BLOCK_BYTES;
    fitScaleMinK4(src, x, 15, f(-1), 20, levels, dst, base);
    requantizeScaleMinK4(src, x, 15, dst, base, levels);
    for (let group = 0; group < 4; group++) {
      for (let l = 0; l < 32; l++) {
        dst[base + QS + 32 * group + l] =
          (levels[64 * group + l] as number) | ((levels[64 * group + 32 + l] as number) << 4);
      }
    }
  }
}

/** ggml_vec_dot_q4_K_q8_K (see `vecDotScaleMinK4`). */
function vecDotQ4K(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  return vecDotScaleMinK4(count, w, wOffset, BLOCK_BYTES, a, aOffset, (base, qs, sub) => {
    let isum = 0;
    for (let i = 32 * sub; i < 32 * sub + 32; i++) isum += asInt8(a[qs + i] as number) * q4KQuant(w, base, i);
    return isum;
  });
}

export const q4KFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q4_K),
  vecDotType: GgmlType.Q8_K,
  dequantize: dequantizeQ4K,
  quantize: quantizeQ4K,
  vecDot: vecDotQ4K,
};

/** A Q4_K weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class Q4KTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q4KFormat, data, rows, cols, q8KFormat);
  }
}
