import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { scaleMinK4Format, type ScaleMinK4Layout, type ScaleMinK4Search } from './k-quant-shared.js';
import { q8_kFormat } from './q8_k.js';

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

/**
 * quantize_row_q4_K_ref: make_qkx2_quants per sub-block (nmax 15, weights rms(x) + |x|, 21 trial
 * scales starting 1 below nmax/range), 6-bit scales and mins against their maxima, then the quants
 * recomputed from the rounded scales.
 * Dequantize and vecDot are the shared Q4_K/Q5_K block loops (see `scaleMinK4Format`).
 */
export const q4_kFormat: BlockFormat = scaleMinK4Format(GgmlType.Q4_K, LAYOUT, SEARCH);

/** A Q4_K weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class Q4_KTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q4_kFormat, data, rows, cols, q8_kFormat);
  }
}
