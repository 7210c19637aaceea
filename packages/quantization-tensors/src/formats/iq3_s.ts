import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { IQ3S_GRID, iq3Format, type Iq3Layout } from './iq-grids.js';
import { q8_kFormat } from './q8_k.js';

/**
 * IQ3_S: 256 weights in 8 sub-blocks of 32, each 8 groups of 4 grid magnitudes with explicit
 * signs. 110 bytes per block:
 *
 *   offset   0  d          fp16 super-scale
 *   offset   2  qs[64]     low 8 bits of one 9-bit `iq3s_grid` index per 4 weights
 *   offset  66  qh[8]      9th index bits: bit k of qh[sub] belongs to index k of that sub-block
 *   offset  74  signs[32]  one sign bit per weight, 4 bytes per sub-block (bit j of byte l is
 *                          weight 8l + j)
 *   offset 106  scales[4]  4-bit scales s, two per byte (sub-block 2i low nibble, 2i+1 high);
 *                          sub-block scale = d * (2s + 1)
 */
const QS = 2;
const QH = 66;
const SIGNS = 74;
const SCALES = 106;

const LAYOUT: Iq3Layout = {
  blockBytes: 110,
  scaleFactor: 1,
  subScale: (bytes, base, sub) => 2 * (((bytes[base + SCALES + (sub >> 1)] as number) >> (4 * (sub & 1))) & 0xf) + 1,
  gridEntry: (bytes, base, sub, k) =>
    IQ3S_GRID[(bytes[base + QS + 8 * sub + k] as number) | ((((bytes[base + QH + sub] as number) >> k) & 1) << 8)] as number,
  signs: (bytes, base, sub, group) => bytes[base + SIGNS + 4 * sub + group] as number,
};

export const iq3_sFormat: BlockFormat = iq3Format(GgmlType.IQ3_S, LAYOUT);

/** An IQ3_S weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class IQ3_STensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(iq3_sFormat, data, rows, cols, q8_kFormat);
  }
}
