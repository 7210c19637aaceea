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
const LAYOUT: ScaleMinK4Layout = { blockBytes: BLOCK_BYTES, qs: QS, qh: -1 };
const SEARCH: ScaleMinK4Search = { nmax: 15, rmin: -1, nstep: 20 };

function dequantizeQ4K(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  dequantizeScaleMinK4(LAYOUT, src, srcOffset, dst, dstOffset, count);
}

/**
 * quantize_row_q4_K_ref: make_qkx2_quants per sub-block (nmax 15, weights rms(x) + |x|, 21 trial
 * scales starting 1 below nmax/range), 6-bit scales and mins against their maxima, then the quants
 * recomputed from the rounded scales.
 */
function quantizeQ4K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  quantizeScaleMinK4(LAYOUT, SEARCH, src, srcOffset, dst, dstOffset, count);
}

/** ggml_vec_dot_q4_K_q8_K (see `vecDotScaleMinK4`). */
function vecDotQ4K(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  return vecDotScaleMinK4(LAYOUT, count, w, wOffset, a, aOffset);
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
