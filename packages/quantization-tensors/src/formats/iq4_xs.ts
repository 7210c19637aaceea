import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16 } from '../half.js';
import { dequantizeIq4Group, iq4GroupDot, quantizeIq4Block } from './iq4_nl.js';
import { int8View } from './legacy-block-math.js';
import { Q8_K_BLOCK_BYTES, Q8_K_QS_OFFSET, QK_K, q8KScale } from './k-quant-shared.js';
import { q8_kFormat } from './q8_k.js';

// Local, not imported: V8 only inlines Math.fround through a module-local binding.
const fround = Math.fround;

/**
 * IQ4_XS: 256 weights in 8 sub-blocks of 32, each an IQ4_NL body with a 6-bit scale.
 * 136 bytes per block:
 *
 *   offset 0  d            fp16 super-scale
 *   offset 2  scales_h     little-endian uint16: bits 2i..2i+1 are the top 2 bits of scale i
 *   offset 4  scales_l[4]  low 4 bits of scale i: low nibble of byte i/2 for even i, high for odd
 *   offset 8  qs[128]      16 bytes of nibbles per sub-block, packed as in IQ4_NL
 *
 * Sub-block i scale = d * (ls_i - 32), ls_i the 6-bit value.
 */
const BLOCK_BYTES = 136;
const SCALES_H = 2;
const SCALES_L = 4;
const QS = 8;

/** Signed sub-block scale ls - 32 of sub-block `sub` of the block at `base`. */
function subScale(bytes: Uint8Array, base: number, sub: number): number {
  const high = (bytes[base + SCALES_H] as number) | ((bytes[base + SCALES_H + 1] as number) << 8);
  const low = ((bytes[base + SCALES_L + (sub >> 1)] as number) >> (4 * (sub & 1))) & 0xf;
  return (low | (((high >> (2 * sub)) & 3) << 4)) - 32;
}

function dequantizeIq4Xs(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const base = srcOffset + block * BLOCK_BYTES;
    const d = readFp16(src, base);
    for (let sub = 0; sub < 8; sub++) {
      const dl = fround(d * subScale(src, base, sub));
      dequantizeIq4Group(src, base + QS + 16 * sub, dl, dst, dstOffset + block * QK_K + 32 * sub);
    }
  }
}

/**
 * ggml_vec_dot_iq4_xs_q8_K: per 32-weight sub-block, (d_x*d_y) * (ls - 32) in float32 times the
 * integer dot of table levels with the Q8_K quants. Sub-blocks summed in float32 (the order of ggml's generic C path).
 */
function vecDotIq4Xs(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  const q8 = int8View(a);
  let sum = 0;
  for (let block = 0; block < count / QK_K; block++) {
    const base = wOffset + block * BLOCK_BYTES;
    const act = aOffset + block * Q8_K_BLOCK_BYTES;
    const d4d8 = fround(readFp16(w, base) * q8KScale(a, act));
    for (let sub = 0; sub < 8; sub++) {
      const dl = fround(d4d8 * subScale(w, base, sub));
      sum = fround(sum + fround(dl * iq4GroupDot(w, base + QS + 16 * sub, q8, act + Q8_K_QS_OFFSET + 32 * sub)));
    }
  }
  return sum;
}

/** quantize_iq4_xs without an imatrix (see `quantizeIq4Block`), block by block. */
function quantizeIq4Xs(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const base = dstOffset + block * BLOCK_BYTES;
    quantizeIq4Block(256, src, srcOffset + block * QK_K, dst, base, base + SCALES_H, base + QS);
  }
}

export const iq4_xsFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.IQ4_XS),
  vecDotType: GgmlType.Q8_K,
  dequantize: dequantizeIq4Xs,
  quantize: quantizeIq4Xs,
  vecDot: vecDotIq4Xs,
};

/** A IQ4_XS weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class IQ4_XSTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(iq4_xsFormat, data, rows, cols, q8_kFormat);
  }
}
