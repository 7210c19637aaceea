import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16 } from '../half.js';
import { IQ3XXS_GRID, KSIGNS_IQ2XS, dequantizeSignedGridPair, signedGridPairDot } from './iq-grids.js';
import { Q8_K_BLOCK_BYTES, Q8_K_QS_OFFSET, QK_K, f, q8KScale } from './k-quant-shared.js';
import { q8KFormat } from './q8_k.js';

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
const BLOCK_BYTES = 98;
const QS = 2;
const AUX = 66;

function readU32LE(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset] as number) |
      ((bytes[offset + 1] as number) << 8) |
      ((bytes[offset + 2] as number) << 16) |
      ((bytes[offset + 3] as number) << 24)) >>>
    0
  );
}

function dequantizeIq3Xxs(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const base = srcOffset + block * BLOCK_BYTES;
    const d = readFp16(src, base);
    for (let sub = 0; sub < 8; sub++) {
      const aux = readU32LE(src, base + AUX + 4 * sub);
      const db = f(f(d * (0.5 + (aux >>> 28))) * 0.5);
      const qs = base + QS + 8 * sub;
      for (let l = 0; l < 4; l++) {
        dequantizeSignedGridPair(
          IQ3XXS_GRID[src[qs + 2 * l] as number] as number,
          IQ3XXS_GRID[src[qs + 2 * l + 1] as number] as number,
          KSIGNS_IQ2XS[(aux >>> (7 * l)) & 127] as number,
          db,
          dst,
          dstOffset + block * QK_K + 32 * sub + 8 * l,
        );
      }
    }
  }
}

/**
 * ggml_vec_dot_iq3_xxs_q8_K: integer dot per sub-block times its odd scale 2s + 1, summed per
 * block, times d_x*d_y (float32), and the whole sum times 1/4. Blocks summed in float32 (the order of ggml's generic C path).
 */
function vecDotIq3Xxs(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  let sum = 0;
  for (let block = 0; block < count / QK_K; block++) {
    const base = wOffset + block * BLOCK_BYTES;
    const act = aOffset + block * Q8_K_BLOCK_BYTES;
    let bsum = 0;
    for (let sub = 0; sub < 8; sub++) {
      const aux = readU32LE(w, base + AUX + 4 * sub);
      const qs = base + QS + 8 * sub;
      let sumi = 0;
      for (let l = 0; l < 4; l++) {
        sumi += signedGridPairDot(
          IQ3XXS_GRID[w[qs + 2 * l] as number] as number,
          IQ3XXS_GRID[w[qs + 2 * l + 1] as number] as number,
          KSIGNS_IQ2XS[(aux >>> (7 * l)) & 127] as number,
          a,
          act + Q8_K_QS_OFFSET + 32 * sub + 8 * l,
        );
      }
      bsum += sumi * (2 * (aux >>> 28) + 1);
    }
    sum = f(sum + f(f(readFp16(w, base) * q8KScale(a, act)) * bsum));
  }
  return f(0.25 * sum);
}

export const iq3XxsFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.IQ3_XXS),
  vecDotType: GgmlType.Q8_K,
  dequantize: dequantizeIq3Xxs,
  vecDot: vecDotIq3Xxs,
};

/** A IQ3_XXS weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class IQ3XXSTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(iq3XxsFormat, data, rows, cols, q8KFormat);
  }
}
