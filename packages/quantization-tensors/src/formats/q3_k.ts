import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16, writeFp16 } from '../half.js';
import { Q8_K_BLOCK_BYTES, Q8_K_QS_OFFSET, QK_K, asInt8, f, makeQ3Quants, nearestInt, q8KScale } from './k-quant-shared.js';
import { q8KFormat } from './q8_k.js';


/**
 * Q3_K: 256 weights in 16 sub-blocks of 16, x = d * (scale_j - 32) * q, q in -4..3 (no min).
 * 110 bytes per block:
 *
 *   offset   0  hmask[32]   high bit of each quant; weight 128h + 32s + l (l < 32) uses bit
 *                           4h + s of hmask[l]; bit SET means q = low2 (0..3), CLEAR means low2 - 4
 *   offset  32  qs[64]      low 2 bits, packed like Q2_K (bits 2s..2s+1 of qs[32h + l])
 *   offset  96  scales[12]  sixteen 6-bit scales (stored +32): scale j's low 4 bits are the low
 *                           (j < 8) or high (j >= 8) nibble of byte j % 8; its top 2 bits are bits
 *                           2*(j/4)..+1 of byte 8 + j % 4
 *   offset 108  d           fp16 super-scale
 */
const BLOCK_BYTES = 110;
const QS = 32;
const SCALES = 96;
const D = 108;

/** Signed 6-bit scale of sub-block j (already minus 32) from the 12 packed bytes at `offset`. */
function q3KScale(bytes: Uint8Array, offset: number, j: number): number {
  const low = j < 8 ? (bytes[offset + j] as number) & 0xf : (bytes[offset + j - 8] as number) >> 4;
  const high = ((bytes[offset + 8 + (j % 4)] as number) >> (2 * (j >> 2))) & 3;
  return (low | (high << 4)) - 32;
}

/** The signed quant (-4..3) of weight 128*half + 32*shiftIndex + l, from its block at `base`. */
function q3KQuant(bytes: Uint8Array, base: number, half: number, shiftIndex: number, l: number): number {
  const low = ((bytes[base + QS + 32 * half + l] as number) >> (2 * shiftIndex)) & 3;
  const highSet = ((bytes[base + l] as number) >> (4 * half + shiftIndex)) & 1;
  return highSet !== 0 ? low : low - 4;
}

function dequantizeQ3K(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const base = srcOffset + block * BLOCK_BYTES;
    const dAll = readFp16(src, base + D);
    let out = dstOffset + block * QK_K;
    let sub = 0;
    for (let half = 0; half < 2; half++) {
      for (let shiftIndex = 0; shiftIndex < 4; shiftIndex++) {
        for (let part = 0; part < 2; part++) {
          const dl = f(dAll * q3KScale(src, base + SCALES, sub++));
          for (let l = 16 * part; l < 16 * part + 16; l++) {
            dst[out++] = f(dl * q3KQuant(src, base, half, shiftIndex, l));
          }
        }
      }
    }
  }
}

const levels = new Int8Array(QK_K);
const subScales = new Float32Array(16);

/**
 * quantize_row_q3_K_ref: make_q3_quants (nmax 4, x^2-weighted refinement) per sub-block, the 16
 * scales quantized to signed 6 bits against the one of largest magnitude (iscale = -32/max, so
 * that one lands on -32), then the quants recomputed from the rounded scales.
 */
function quantizeQ3K(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / QK_K; block++) {
    const x = srcOffset + block * QK_K;
    const base = dstOffset + block * BLOCK_BYTES;
    let maxScale = 0;
    let amax = 0;
    for (let j = 0; j < 16; j++) {
      const scale = makeQ3Quants(16, 4, src, x + 16 * j, levels, 16 * j);
      subScales[j] = scale;
      const abs = Math.abs(scale);
      if (abs > amax) {
        amax = abs;
        maxScale = scale;
      }
    }
    dst.fill(0, base + SCALES, base + SCALES + 12);
    if (maxScale !== 0) {
      const iscale = f(-32 / maxScale);
      for (let j = 0; j < 16; j++) {
        // int8_t l = nearest_int(...): the value is within ±32 here, so no truncation shows.
        let l = asInt8(nearestInt(f(iscale * (subScales[j] as number))) & 0xff);
        l = (l < -32 ? -32 : l > 31 ? 31 : l) + 32;
        if (j < 8) dst[base + SCALES + j] = l & 0xf;
        else dst[base + SCALES + j - 8] = (dst[base + SCALES + j - 8] as number) | ((l & 0xf) << 4);
        const top = base + SCALES + 8 + (j % 4);
        dst[top] = (dst[top] as number) | ((l >> 4) << (2 * (j >> 2)));
      }
      writeFp16(dst, base + D, f(1 / iscale));
    } else {
      writeFp16(dst, base + D, 0);
    }
    const d = readFp16(dst, base + D);
    for (let j = 0; j < 16; j++) {
      const dl = f(d * q3KScale(dst, base + SCALES, j));
      if (dl === 0) continue;
      for (let l = 0; l < 16; l++) {
        const q = nearestInt(f((src[x + 16 * j + l] as number) / dl));
        levels[16 * j + l] = (q < -4 ? -4 : q > 3 ? 3 : q) + 4;
      }
    }
    // High bit of weight j goes to bit j / 32 of hmask[j % 32]; the low 2 bits pack like Q2_K.
    dst.fill(0, base, base + 32);
    for (let j = 0; j < QK_K; j++) {
      let level = levels[j] as number;
      if (level > 3) {
        dst[base + (j % 32)] = (dst[base + (j % 32)] as number) | (1 << (j >> 5));
        level -= 4;
      }
      levels[j] = level;
    }
    for (let half = 0; half < 2; half++) {
      for (let l = 0; l < 32; l++) {
        const j = 128 * half + l;
        dst[base + QS + 32 * half + l] =
          (levels[j] as number) |
          ((levels[j + 32] as number) << 2) |
          ((levels[j + 64] as number) << 4) |
          ((levels[j + 96] as number) << 6);
      }
    }
  }
}

/**
 * ggml_vec_dot_q3_K_q8_K: integer dot per 16-weight sub-block times its signed 6-bit scale,
 * summed per block as an integer, times d_x*d_y (float32); blocks summed in float32.
 */
function vecDotQ3K(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  let sum = 0;
  for (let block = 0; block < count / QK_K; block++) {
    const base = wOffset + block * BLOCK_BYTES;
    const act = aOffset + block * Q8_K_BLOCK_BYTES;
    let qa = act + Q8_K_QS_OFFSET;
    let isum = 0;
    let sub = 0;
    for (let half = 0; half < 2; half++) {
      for (let shiftIndex = 0; shiftIndex < 4; shiftIndex++) {
        for (let part = 0; part < 2; part++) {
          const scale = q3KScale(w, base + SCALES, sub++);
          let isuml = 0;
          for (let l = 16 * part; l < 16 * part + 16; l++) {
            isuml += asInt8(a[qa + l] as number) * q3KQuant(w, base, half, shiftIndex, l);
          }
          isum += scale * isuml;
        }
        qa += 32;
      }
    }
    sum = f(sum + f(f(readFp16(w, base + D) * q8KScale(a, act)) * isum));
  }
  return sum;
}

export const q3KFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.Q3_K),
  vecDotType: GgmlType.Q8_K,
  dequantize: dequantizeQ3K,
  quantize: quantizeQ3K,
  vecDot: vecDotQ3K,
};

/** A Q3_K weight matrix; matVec/matMul quantize activations to Q8_K and use the integer dot. */
export class Q3KTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(q3KFormat, data, rows, cols, q8KFormat);
  }
}
