import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType } from '../ggml-type.js';
import { IQ3XXS_GRID, KSIGNS_IQ2XS, iq3Format, type Iq3Layout } from './iq-grids.js';
import { readU32 } from './legacy-block-math.js';
import { q8_kFormat } from './q8_k.js';

/**
 * IQ3_XXS: 256 weights in 8 sub-blocks of 32, each 8 groups of 4 grid magnitudes with signs.
 * 98 bytes per block:
 *
 *   offset  0  d        fp16 super-scale
 *   offset  2  qs[64]   one `iq3xxs_grid` index per 4 weights (8 per sub-block)
 *   offset 66  aux[8]   one little-endian uint32 per sub-block: bits 7l..7l+6 (l < 4) are the
 *                       7 stored signs of weights 8l..8l+7 (8th implied, see KSIGNS_IQ2XS),
 *                       bits 28-31 the 4-bit sub-block scale s; sub-block scale = d * (2s + 1) / 4
 */
const QS = 2;
const AUX = 66;

const LAYOUT: Iq3Layout = {
  blockBytes: 98,
  scaleFactor: 0.25,
  subScale: (bytes, base, sub) => 2 * (readU32(bytes, base + AUX + 4 * sub) >>> 28) + 1,
  gridEntry: (bytes, base, sub, k) => IQ3XXS_GRID[bytes[base + QS + 8 * sub + k] as number] as number,
  signs: (bytes, base, sub, group) => KSIGNS_IQ2XS[(readU32(bytes, base + AUX + 4 * sub) >>> (7 * group)) & 127] as number,
};

export const iq3_xxsFormat: BlockFormat = iq3Format(GgmlType.IQ3_XXS, LAYOUT);

/** An IQ3_XXS weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class IQ3_XXSTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(iq3_xxsFormat, data, rows, cols, q8_kFormat);
  }
}
