import type { BlockFormat } from '../block-format.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import {
  Q8_K_BLOCK_BYTES,
  Q8_K_BSUMS_OFFSET,
  Q8_K_QS_OFFSET,
  QK_K,
  nearestInt,
  readF32LE,
  writeF32LE,
} from './k-quant-shared.js';
import { int8View, signedAbsMax } from './legacy-block-math.js';

// Local, not imported: V8 only inlines Math.fround through a module-local binding.
const fround = Math.fround;

/**
 * Q8_K: the activation partner of every k-quant and of IQ3_XXS, IQ3_S and IQ4_XS (never stored in
 * model files). 256 values per block, 292 bytes:
 *
 *   offset   0  d         float32 (not fp16: activations need the range)
 *   offset   4  qs[256]   int8, x = d * q
 *   offset 260  bsums[16] int16, bsums[j] = sum of qs[16j .. 16j+15]
 *
 * The k-quant dot products subtract their mins through `bsums` (one multiply per 16 values
 * instead of 16), which is why the sums are stored at all.
 */
function dequantizeQ8K(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  const qs = int8View(src);
  for (let block = 0; block < count / QK_K; block++) {
    const base = srcOffset + block * Q8_K_BLOCK_BYTES;
    const d = readF32LE(src, base);
    const out = dstOffset + block * QK_K;
    for (let j = 0; j < QK_K; j++) dst[out + j] = fround(d * (qs[base + Q8_K_QS_OFFSET + j] as number));
  }
}

/**
 * quantize_row_q8_K_ref: scale -127/max where max is the value of largest magnitude (so that value
 * maps to exactly -127 and nothing exceeds ±127), q = nearest_int(iscale * x) capped at 127.
 */
function quantizeQ8K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const x = srcOffset + block * QK_K;
    const base = dstOffset + block * Q8_K_BLOCK_BYTES;
    const max = signedAbsMax(src, x, QK_K);
    if (max === 0) {
      dst.fill(0, base, base + Q8_K_BLOCK_BYTES);
      continue;
    }
    const iscale = fround(-127 / max);
    for (let group = 0; group < QK_K / 16; group++) {
      let sum = 0;
      for (let k = 0; k < 16; k++) {
        const j = 16 * group + k;
        const q = Math.min(127, nearestInt(fround(iscale * (src[x + j] as number))));
        dst[base + Q8_K_QS_OFFSET + j] = q & 0xff;
        sum += q;
      }
      const sumOffset = base + Q8_K_BSUMS_OFFSET + 2 * group;
      dst[sumOffset] = sum & 0xff;
      dst[sumOffset + 1] = (sum >> 8) & 0xff;
    }
    writeF32LE(fround(1 / iscale), dst, base);
  }
}

/**
 * Q8_K has no dot product of its own in ggml (it is only ever the right-hand side); `vecDotType`
 * names itself so the contract stays total.
 */
export const q8_kFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q8_K),
  vecDotType: GgmlType.Q8_K,
  dequantize: dequantizeQ8K,
  quantize: quantizeQ8K,
};
