import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16 } from '../half.js';
import { KVALUES_IQ4NL } from './iq-grids.js';
import { int8View } from './legacy-block-math.js';
import { q8_0Format } from './q8_0.js';

// Local, not imported: V8 only inlines Math.fround through a module-local binding.
const fround = Math.fround;

/**
 * IQ4_NL: 32 weights per block, x = d * kvalues_iq4nl[q] (a fixed non-linear 16-level table).
 * 18 bytes per block:
 *
 *   offset 0  d       fp16 scale
 *   offset 2  qs[16]  4-bit table indices: weight j (j < 16) is the low nibble of qs[j],
 *                     weight j + 16 the high nibble
 */
const BLOCK_SIZE = 32;
const BLOCK_BYTES = 18;
const QS = 2;
// Q8_0 activation block: d (fp16) then 32 int8 quants.
const Q8_0_BLOCK_BYTES = 34;
const Q8_0_QS = 2;

/**
 * Dequantizes one 32-weight IQ4 group (IQ4_NL block body or IQ4_XS sub-block): 16 bytes of
 * nibbles at `qs` scaled by `scale`, each value (scale * level) rounded to float32.
 */
export function dequantizeIq4Group(src: Uint8Array, qs: number, scale: number, dst: Float32Array, dstOffset: number): void {
  for (let j = 0; j < 16; j++) {
    const byte = src[qs + j] as number;
    dst[dstOffset + j] = fround(scale * (KVALUES_IQ4NL[byte & 0xf] as number));
    dst[dstOffset + j + 16] = fround(scale * (KVALUES_IQ4NL[byte >> 4] as number));
  }
}

/** Integer dot of one 32-weight IQ4 group (nibbles at `qs` of `w`) with the 32 int8 at `q8[aqs]`. */
export function iq4GroupDot(w: Uint8Array, qs: number, q8: Int8Array, aqs: number): number {
  let sum = 0;
  for (let j = 0; j < 16; j++) {
    const byte = w[qs + j] as number;
    sum += (q8[aqs + j] as number) * (KVALUES_IQ4NL[byte & 0xf] as number);
    sum += (q8[aqs + j + 16] as number) * (KVALUES_IQ4NL[byte >> 4] as number);
  }
  return sum;
}

function dequantizeIq4Nl(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / BLOCK_SIZE; block++) {
    const base = srcOffset + block * BLOCK_BYTES;
    dequantizeIq4Group(src, base + QS, readFp16(src, base), dst, dstOffset + block * BLOCK_SIZE);
  }
}

/**
 * ggml_vec_dot_iq4_nl_q8_0: per 32-weight block, the integer dot of table levels with the Q8_0
 * quants times d_x*d_y (float32). Blocks summed in float32 (the order of ggml's generic C path).
 */
function vecDotIq4Nl(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  const q8 = int8View(a);
  let sum = 0;
  for (let block = 0; block < count / BLOCK_SIZE; block++) {
    const base = wOffset + block * BLOCK_BYTES;
    const act = aOffset + block * Q8_0_BLOCK_BYTES;
    const d = fround(readFp16(a, act) * readFp16(w, base));
    sum = fround(sum + fround(d * iq4GroupDot(w, base + QS, q8, act + Q8_0_QS)));
  }
  return sum;
}

export const iq4NlFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.IQ4_NL),
  vecDotType: GgmlType.Q8_0,
  dequantize: dequantizeIq4Nl,
  vecDot: vecDotIq4Nl,
};

/** A IQ4_NL weight matrix; matVec/matMul quantize activations to Q8_0 and use the integer dot. */
export class IQ4NLTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(iq4NlFormat, data, rows, cols, q8_0Format);
  }
}
