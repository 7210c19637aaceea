/**
 * The 4/5-bit legacy formats (Q4_0, Q4_1, Q5_0, Q5_1) differ only in where their fields sit and in
 * whether they store a minimum; this file holds their shared dequantize / quantize / dot loops,
 * driven by a `LevelBlockLayout`. Every block has 32 weights with an integer level each:
 * element j (< 16) is the low nibble of qs[j], element j + 16 its high nibble, and in the 5-bit
 * formats bit j of the little-endian u32 qh is bit 4 of element j's level.
 */
import type { BlockFormat } from '../block-format.js';
import { GgmlType, ggmlTypeInfo, type GgmlTypeId } from '../ggml-type.js';
import { readFp16, writeFp16 } from '../half.js';
import {
  HALF_QK,
  QK,
  fusedLevel,
  int8View,
  inverseScale,
  minMax,
  offsetLevel,
  readU32,
  signedAbsMax,
  writeU32,
} from './legacy-block-math.js';

/** Byte offsets of a 4/5-bit format's fields inside its block, and its level range. */
export interface LevelBlockLayout {
  readonly blockBytes: number;
  /** 16 (4-bit) or 32 (5-bit). */
  readonly levelCount: 16 | 32;
  readonly qsOffset: number;
  /** Offset of the u32 fifth bits, or -1 for the 4-bit formats. */
  readonly qhOffset: number;
  /**
   * Offset of the fp16 block minimum m (x = level * d + m), or -1 for the symmetric formats
   * (x = (level - levelCount/2) * d). d is always the fp16 at offset 0.
   */
  readonly minOffset: number;
}

type Dequantize = BlockFormat['dequantize'];
type Quantize = NonNullable<BlockFormat['quantize']>;
type VecDot = NonNullable<BlockFormat['vecDot']>;

/** Q8_0 / Q8_1 activation blocks: d fp16 at 0 (Q8_1: s = d * sum(q) fp16 at 2), int8 quants after. */
const Q8_0_BLOCK_BYTES = 34;
const Q8_0_QS_OFFSET = 2;
const Q8_1_BLOCK_BYTES = 36;
const Q8_1_S_OFFSET = 2;
const Q8_1_QS_OFFSET = 4;

/** The 32 levels of the block at `base` into `levels`. */
function unpackLevels(layout: LevelBlockLayout, src: Uint8Array, base: number, levels: Uint8Array): void {
  const qs = base + layout.qsOffset;
  const qh = layout.qhOffset < 0 ? 0 : readU32(src, base + layout.qhOffset);
  for (let j = 0; j < HALF_QK; j++) {
    const byte = src[qs + j]!;
    levels[j] = (byte & 0x0f) | (((qh >>> j) & 1) << 4);
    levels[j + HALF_QK] = (byte >> 4) | (((qh >>> (j + HALF_QK)) & 1) << 4);
  }
}

/** Inverse of `unpackLevels`. */
function packLevels(layout: LevelBlockLayout, levels: Uint8Array, dst: Uint8Array, base: number): void {
  const qs = base + layout.qsOffset;
  for (let j = 0; j < HALF_QK; j++) dst[qs + j] = (levels[j]! & 0x0f) | ((levels[j + HALF_QK]! & 0x0f) << 4);
  if (layout.qhOffset < 0) return;
  let qh = 0;
  for (let j = 0; j < QK; j++) qh |= ((levels[j]! >> 4) & 1) << j;
  writeU32(dst, base + layout.qhOffset, qh >>> 0);
}

/**
 * ggml's dequantize_row_q4_0 / q4_1 / q5_0 / q5_1: x = (level - levelCount/2) * d, or
 * x = level * d + m with the product rounded to float32 before the sum.
 */
export function levelBlockDequantizer(layout: LevelBlockLayout): Dequantize {
  const { blockBytes, qsOffset, qhOffset, minOffset } = layout;
  const levelOffset = layout.levelCount / 2;
  // One pass per block, nibbles decoded in place (no levels scratch): this is the hot path.
  return (src, srcOffset, dst, dstOffset, count) => {
    for (let block = 0; block < count / QK; block++) {
      const base = srcOffset + block * blockBytes;
      const out = dstOffset + block * QK;
      const d = readFp16(src, base);
      const m = minOffset < 0 ? 0 : readFp16(src, base + minOffset);
      const qh = qhOffset < 0 ? 0 : readU32(src, base + qhOffset);
      const qs = base + qsOffset;
      for (let j = 0; j < HALF_QK; j++) {
        const byte = src[qs + j]!;
        const low = (byte & 0x0f) | (((qh >>> j) & 1) << 4);
        const high = (byte >> 4) | (((qh >>> (j + HALF_QK)) & 1) << 4);
        if (minOffset < 0) {
          dst[out + j] = (low - levelOffset) * d;
          dst[out + j + HALF_QK] = (high - levelOffset) * d;
        } else {
          dst[out + j] = Math.fround(low * d) + m;
          dst[out + j + HALF_QK] = Math.fround(high * d) + m;
        }
      }
    }
  };
}

/**
 * ggml's quantize_row_q4_0_ref / q5_0_ref (symmetric): d = max / -(levelCount/2), max being the
 * signed value of largest magnitude, level = trunc(x/d + levelCount/2 + 0.5) capped at
 * levelCount - 1 (`fusedLevel`); and quantize_row_q4_1_ref / q5_1_ref (with a minimum):
 * d = (max - min) / (levelCount - 1), m = min, level = trunc((x - min)/d + 0.5) (`offsetLevel`).
 */
export function levelBlockQuantizer(layout: LevelBlockLayout): Quantize {
  const { blockBytes, levelCount, minOffset } = layout;
  const levels = new Uint8Array(QK);
  return (src, srcOffset, dst, dstOffset, count) => {
    for (let block = 0; block < count / QK; block++) {
      const x = srcOffset + block * QK;
      const base = dstOffset + block * blockBytes;
      if (minOffset < 0) {
        const half = levelCount / 2;
        const d = Math.fround(signedAbsMax(src, x, QK) / -half);
        const id = inverseScale(d);
        writeFp16(dst, base, d);
        for (let j = 0; j < QK; j++) levels[j] = fusedLevel(src[x + j]!, id, half + 0.5, levelCount - 1);
      } else {
        const [min, max] = minMax(src, x, QK);
        const d = Math.fround(Math.fround(max - min) / (levelCount - 1));
        const id = inverseScale(d);
        writeFp16(dst, base, d);
        writeFp16(dst, base + minOffset, min);
        for (let j = 0; j < QK; j++) levels[j] = offsetLevel(src[x + j]!, min, id, levelCount - 1);
      }
      packLevels(layout, levels, dst, base);
    }
  };
}

/** How a symmetric format's ggml_vec_dot scales its integer block sum (float32 rounding differs). */
export type BlockScaleOrder =
  /** ggml_vec_dot_q4_0_q8_0: sumi * d_w * d_a, left to right. */
  | 'sum-times-weight-then-activation-scale'
  /** ggml_vec_dot_q5_0_q8_0, q4_1_q8_1, q5_1_q8_1: (d_w * d_a) * sumi. */
  | 'scale-product-times-sum';

/**
 * ggml_vec_dot_q4_0_q8_0 / q5_0_q8_0 (symmetric formats, Q8_0 activations): per block the integer
 * sum of (level - levelCount/2) * q, scaled as `order` says; and ggml_vec_dot_q4_1_q8_1 /
 * q5_1_q8_1 (formats with a minimum, Q8_1 activations): per block (d_w * d_a) * sum(level * q) +
 * m_w * s_a, where s_a = d_a * sum(q) carries the minimum. Accumulated in float32.
 */
export function levelBlockVecDot(layout: LevelBlockLayout, order: BlockScaleOrder): VecDot {
  const { blockBytes, minOffset } = layout;
  const withMin = minOffset >= 0;
  const levelOffset = withMin ? 0 : layout.levelCount / 2;
  const activationBlockBytes = withMin ? Q8_1_BLOCK_BYTES : Q8_0_BLOCK_BYTES;
  const activationQsOffset = withMin ? Q8_1_QS_OFFSET : Q8_0_QS_OFFSET;
  const scaleFirst = order === 'scale-product-times-sum';
  const levels = new Uint8Array(QK);
  return (count, w, wOffset, a, aOffset) => {
    const aq = int8View(a);
    let sum = 0;
    for (let block = 0; block < count / QK; block++) {
      const wBase = wOffset + block * blockBytes;
      const aBase = aOffset + block * activationBlockBytes;
      unpackLevels(layout, w, wBase, levels);
      let sumi = 0;
      for (let j = 0; j < QK; j++) sumi += (levels[j]! - levelOffset) * aq[aBase + activationQsOffset + j]!;
      const dw = readFp16(w, wBase);
      const da = readFp16(a, aBase);
      let term = scaleFirst ? Math.fround(Math.fround(dw * da) * sumi) : Math.fround(Math.fround(sumi * dw) * da);
      if (withMin) term = Math.fround(term + Math.fround(readFp16(w, wBase + minOffset) * readFp16(a, aBase + Q8_1_S_OFFSET)));
      sum = Math.fround(sum + term);
    }
    return sum;
  };
}

/**
 * The `BlockFormat` of a 4/5-bit format: its layout's dequantizer, reference quantizer and dot
 * product with its activation type (Q8_0 for the symmetric formats, Q8_1 for those with a minimum).
 */
export function levelBlockFormat(type: GgmlTypeId, layout: LevelBlockLayout, order: BlockScaleOrder): BlockFormat {
  return {
    info: ggmlTypeInfo(type),
    vecDotType: layout.minOffset >= 0 ? GgmlType.Q8_1 : GgmlType.Q8_0,
    dequantize: levelBlockDequantizer(layout),
    quantize: levelBlockQuantizer(layout),
    vecDot: levelBlockVecDot(layout, order),
  };
}
