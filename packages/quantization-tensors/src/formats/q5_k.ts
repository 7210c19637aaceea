import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { scaleMinK4Format, type ScaleMinK4Layout, type ScaleMinK4Search } from './k-quant-shared.js';
import { q8_kFormat } from './q8_k.js';

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

/**
 * quantize_row_q5_K_ref: as Q4_K with nmax 31 and 16 trial scales starting half a level below
 * nmax/range; levels above 15 set their qh bit.
 * Dequantize and vecDot are the shared Q4_K/Q5_K block loops (see `scaleMinK4Format`).
 */
export const q5_kFormat: BlockFormat = scaleMinK4Format(GgmlType.Q5_K, LAYOUT, SEARCH);

/** A Q5_K weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class Q5_KTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q5_kFormat, data, rows, cols, q8_kFormat);
  }
}
