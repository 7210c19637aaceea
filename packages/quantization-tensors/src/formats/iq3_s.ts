import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16 } from '../half.js';
import { IQ3S_GRID, dequantizeSignedGridPair, signedGridPairDot } from './iq-grids.js';
import { Q8_K_BLOCK_BYTES, Q8_K_QS_OFFSET, QK_K, f, q8KScale } from './k-quant-shared.js';
import { q8KFormat } from './q8_k.js';

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
const BLOCK_BYTES = 110;
const QS = 2;
const QH = 66;
const SIGNS = 74;
const SCALES = 106;

/** Grid entry of group `l` (0..3), half `h` (0: weights 0-3, 1: 4-7) of sub-block `sub`. */
function gridEntry(bytes: Uint8Array, base: number, sub: number, l: number, h: number): number {
  const k = 2 * l + h;
  const index = (bytes[base + QS + 8 * sub + k] as number) | ((((bytes[base + QH + sub] as number) >> k) & 1) << 8);
  return IQ3S_GRID[index] as number;
}

function subScale(bytes: Uint8Array, base: number, sub: number): number {
  return 2 * (((bytes[base + SCALES + (sub >> 1)] as number) >> (4 * (sub & 1))) & 0xf) + 1;
}

function dequantizeIq3S(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const base = srcOffset + block * BLOCK_BYTES;
    const d = readFp16(src, base);
    for (let sub = 0; sub < 8; sub++) {
      const db = f(d * subScale(src, base, sub));
      for (let l = 0; l < 4; l++) {
        dequantizeSignedGridPair(
          gridEntry(src, base, sub, l, 0),
          gridEntry(src, base, sub, l, 1),
          src[base + SIGNS + 4 * sub + l] as number,
          db,
          dst,
          dstOffset + block * QK_K + 32 * sub + 8 * l,
        );
      }
    }
  }
}

/**
 * ggml_vec_dot_iq3_s_q8_K: integer dot per sub-block times its odd scale 2s + 1, summed per
 * block, times d_x*d_y (float32). Blocks summed in float32 (the order of ggml's generic C path).
 */
function vecDotIq3S(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  let sum = 0;
  for (let block = 0; block < count / QK_K; block++) {
    const base = wOffset + block * BLOCK_BYTES;
    const act = aOffset + block * Q8_K_BLOCK_BYTES;
    let bsum = 0;
    for (let sub = 0; sub < 8; sub++) {
      let sumi = 0;
      for (let l = 0; l < 4; l++) {
        sumi += signedGridPairDot(
          gridEntry(w, base, sub, l, 0),
          gridEntry(w, base, sub, l, 1),
          w[base + SIGNS + 4 * sub + l] as number,
          a,
          act + Q8_K_QS_OFFSET + 32 * sub + 8 * l,
        );
      }
      bsum += sumi * subScale(w, base, sub);
    }
    sum = f(sum + f(f(readFp16(w, base) * q8KScale(a, act)) * bsum));
  }
  return sum;
}

export const iq3SFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.IQ3_S),
  vecDotType: GgmlType.Q8_K,
  dequantize: dequantizeIq3S,
  vecDot: vecDotIq3S,
};

/** A IQ3_S weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class IQ3STensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(iq3SFormat, data, rows, cols, q8KFormat);
  }
}
