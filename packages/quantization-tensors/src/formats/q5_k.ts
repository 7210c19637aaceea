import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import {
  dequantizeScaleMinK4,
  quantizeScaleMinK4,
  vecDotScaleMinK4,
  type ScaleMinK4Layout,
  type ScaleMinK4Search,
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
const LAYOUT: ScaleMinK4Layout = { blockBytes: BLOCK_BYTES, qs: QS, qh: QH };
const SEARCH: ScaleMinK4Search = { nmax: 31, rmin: -0.5, nstep: 15 };

function dequantizeQ5K(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  dequantizeScaleMinK4(LAYOUT, src, srcOffset, dst, dstOffset, count);
}

/**
 * quantize_row_q5_K_ref: as Q4_K with nmax 31 and 16 trial scales starting half a level below
 * nmax/range; levels above 15 set their qh bit.
 */
function quantizeQ5K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  quantizeScaleMinK4(LAYOUT, SEARCH, src, srcOffset, dst, dstOffset, count);
}

/** ggml_vec_dot_q5_K_q8_K (see `vecDotScaleMinK4`). */
function vecDotQ5K(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  return vecDotScaleMinK4(LAYOUT, count, w, wOffset, a, aOffset);
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
