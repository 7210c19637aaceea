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
 * Q5_K: 256 weights in 8 sub-blocks of 32, x = d * scale_j * q - dmin * min_j, q in 0..31.
 * 176 bytes per block:
 *
 *   offset  0  d           fp16 super-scale of the scales
 *   offset  2  dmin        fp16 super-scale of the mins
 *   offset  4  scales[12]  eight 6-bit scales and eight 6-bit mins (see `scaleMinK4`)
 *   offset 16  qh[32]      5th bits: weight 64g + l (l < 32) uses bit 2g of qh[l],
 *                          weight 64g + 32 + l uses bit 2g + 1
 *   offset 48  qs[128]     low 4 bits, packed as in Q4_K
 */
const BLOCK_BYTES = 176;
const QH = 16;
const QS = 48;

/** Quant (0..31) of weight `index` (0..255) of the block at `base` of `bytes`. */
function q5KQuant(bytes: Uint8Array, base: number, index: number): number {
  const l = index & 31;
  const byte = bytes[base + QS + 32 * (index >> 6) + l] as number;
  const low = index & 32 ? byte >> 4 : byte & 0xf;
  // index >> 5 is the sub-block 2g (+1 for the high nibbles), exactly the qh bit to test.
  return low | ((((bytes[base + QH + l] as number) >> (index >> 5)) & 1) << 4);
}

function dequantizeQ5K(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  dequantizeScaleMinK4(src, srcOffset, BLOCK_BYTES, dst, dstOffset, count, (base, i) => q5KQuant(src, base, i));
}

const levels = new Uint8Array(QK_K);

/**
 * quantize_row_q5_K_ref: as Q4_K with nmax 31 and 16 trial scales starting half a level below
 * nmax/range; levels above 15 set their qh bit.
 */
function quantizeQ5K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const x = srcOffset + block * QK_K;
    const base = dstOffset + block * BLOCK_BYTES;
    fitScaleMinK4(src, x, 31, f(-0.5), 15, levels, dst, base);
    requantizeScaleMinK4(src, x, 31, dst, base, levels);
    dst.fill(0, base + QH, base + QH + 32);
    for (let group = 0; group < 4; group++) {
      for (let l = 0; l < 32; l++) {
        let low = levels[64 * group + l] as number;
        let high = levels[64 * group + 32 + l] as number;
        let qh = dst[base + QH + l] as number;
        if (low > 15) {
          low -= 16;
          qh |= 1 << (2 * group);
        }
        if (high > 15) {
          high -= 16;
          qh |= 2 << (2 * group);
        }
        dst[base + QH + l] = qh;
        dst[base + QS + 32 * group + l] = low | (high << 4);
      }
    }
  }
}

/** ggml_vec_dot_q5_K_q8_K (see `vecDotScaleMinK4`). */
function vecDotQ5K(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  return vecDotScaleMinK4(count, w, wOffset, BLOCK_BYTES, a, aOffset, (base, qs, sub) => {
    let isum = 0;
    for (let i = 32 * sub; i < 32 * sub + 32; i++) isum += asInt8(a[qs + i] as number) * q5KQuant(w, base, i);
    return isum;
  });
}

export const q5KFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q5_K),
  vecDotType: GgmlType.Q8_K,
  dequantize: dequantizeQ5K,
  quantize: quantizeQ5K,
  vecDot: vecDotQ5K,
};

/** A Q5_K weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class Q5KTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q5KFormat, data, rows, cols, q8KFormat);
  }
}
