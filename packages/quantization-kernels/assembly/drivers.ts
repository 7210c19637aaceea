// The loops shared by every format of one activation family. Each exported kernel calls one of
// these with its ggml type id as a constant; after inlining, the optimizer folds the format
// switches away, so every kernel is a straight loop over its own blocks.
//
// matVec ("mv"): weights are decoded in registers block by block and dotted with one quantized
// activation row. matMul ("mm"): each weight row is decoded once into a per-thread scratch row
// (quants widened to i16 plus per-block/per-group scales) and then dotted with all n activation
// rows, two at a time, so decoding is amortised over the whole batch.
import { broadcast16, byteBitToBytes, dot16, highNibbles, hsum, hsumI, lowNibbles, madd, relaxedDot, relaxedDot32, relaxedPairs, relaxedPairs32, store16 } from './common';
import { f32Lanes, f32Scalar } from './f32';
import { f16Lanes, f16Scalar } from './f16';
import { bf16Lanes, bf16Scalar } from './bf16';
import { Q8_0_BLOCK_BYTES, q8_0Group, q8_0Scale } from './q8_0';
import { Q4_0_BLOCK_BYTES, Q4_0_OFFSET, q4_0Levels, q4_0Scale } from './q4_0';
import { Q5_0_BLOCK_BYTES, Q5_0_OFFSET, q5_0Levels, q5_0Scale } from './q5_0';
import { IQ4_NL_BLOCK_BYTES, iq4_nlGroup, iq4_nlScale } from './iq4_nl';
import { Q4_1_BLOCK_BYTES, q4_1Group, q4_1Min, q4_1Scale } from './q4_1';
import { Q5_1_BLOCK_BYTES, q5_1Group, q5_1Min, q5_1Scale } from './q5_1';
import { Q2_K_BLOCK_BYTES, q2_kD, q2_kDmin, q2_kGroup, q2_kMin, q2_kScale } from './q2_k';
import { Q3_K_BLOCK_BYTES, Q3_K_OFFSET, q3_kD, q3_kLevels, q3_kScale } from './q3_k';
import { Q4_K_BLOCK_BYTES, q4_kD, q4_kDmin, q4_kGroup, q4_kMin, q4_kScale, q4_kScalesMins } from './q4_k';
import { Q5_K_BLOCK_BYTES, q5_kD, q5_kDmin, q5_kGroup, q5_kMin, q5_kScale } from './q5_k';
import { Q6_K_BLOCK_BYTES, Q6_K_OFFSET, q6_kD, q6_kLevels, q6_kQuarter, q6_kScale, q6_kScales } from './q6_k';
import { IQ4_XS_BLOCK_BYTES, iq4_xsD, iq4_xsGroup, iq4_xsScale } from './iq4_xs';

// ggml type ids.
export const F32: i32 = 0;
export const F16: i32 = 1;
export const Q4_0: i32 = 2;
export const Q4_1: i32 = 3;
export const Q5_0: i32 = 6;
export const Q5_1: i32 = 7;
export const Q8_0: i32 = 8;
export const Q2_K: i32 = 10;
export const Q3_K: i32 = 11;
export const Q4_K: i32 = 12;
export const Q5_K: i32 = 13;
export const Q6_K: i32 = 14;
export const IQ4_NL: i32 = 20;
export const IQ4_XS: i32 = 23;
export const BF16: i32 = 30;

// ---------------------------------------------------------------- 32-weight blocks (Q8_0 / Q8_1 activations)

@inline function blockBytes32(fmt: i32): usize {
  if (fmt == Q8_0) return Q8_0_BLOCK_BYTES;
  if (fmt == Q4_0) return Q4_0_BLOCK_BYTES;
  if (fmt == Q5_0) return Q5_0_BLOCK_BYTES;
  if (fmt == IQ4_NL) return IQ4_NL_BLOCK_BYTES;
  if (fmt == Q4_1) return Q4_1_BLOCK_BYTES;
  return Q5_1_BLOCK_BYTES;
}

/** Formats whose weights are unsigned 7-bit levels minus an offset (relaxed SIMD's i8 x i7 dot applies). */
@inline function unsigned32(fmt: i32): bool {
  return fmt == Q4_0 || fmt == Q5_0 || fmt == Q4_1 || fmt == Q5_1;
}

/** log2 of offset32 (Q4_0: 8, Q5_0: 16). */
@inline function offsetShift32(fmt: i32): i32 {
  return fmt == Q5_0 ? 4 : 3;
}

@inline function offset32(fmt: i32): i32 {
  if (fmt == Q4_0) return Q4_0_OFFSET;
  if (fmt == Q5_0) return Q5_0_OFFSET;
  return 0;
}

/** Unsigned levels of group g (formats with `unsigned32`). */
@inline function levels32(fmt: i32, b: usize, g: i32): v128 {
  if (fmt == Q4_0) return q4_0Levels(b, g);
  if (fmt == Q5_0) return q5_0Levels(b, g);
  if (fmt == Q4_1) return q4_1Group(b, g);
  return q5_1Group(b, g);
}

/** Signed i8 weights of group g. */
@inline function group32(fmt: i32, b: usize, g: i32): v128 {
  if (fmt == Q8_0) return q8_0Group(b, g);
  if (fmt == IQ4_NL) return iq4_nlGroup(b, g);
  if (offset32(fmt) != 0) return i8x16.sub(levels32(fmt, b, g), i8x16.splat(<i8>offset32(fmt)));
  return levels32(fmt, b, g);
}

/**
 * Offset of the i8 copy inside a quantized activation row of a 32-block format: Q8_0 rows are
 * i16 q | f32 d | i8 q | i32 sum, Q8_1 rows (Q4_1/Q5_1) i16 q | f32 d | f32 s | i8 q.
 */
@inline function i8Offset32(fmt: i32, cols: i32): usize {
  return (<usize>cols << 1) + (<usize>(cols >> 5) << (hasMin32(fmt) ? 3 : 2));
}

/**
 * Integer dot of block b's 32 weights with the activations: i16 activations and dot_i16x8, or on
 * the relaxed-SIMD build for unsigned formats, i8 activations times the unsigned levels with
 * relaxed_dot_i8x16_i7x16 (deterministic: levels are < 128), the offset taken off through the
 * activation block sum.
 */
@inline function blockDot32(fmt: i32, b: usize, a: usize, cols: i32, nb: i32, i: i32): v128 {
  if (ASC_FEATURE_RELAXED_SIMD && unsigned32(fmt)) {
    const a8 = a + i8Offset32(fmt, cols);
    const a8q = a8 + (<usize>i << 5);
    // Levels are at most 31: two pair sums (<= 2 * 2 * 127 * 31) still fit i16 (relaxedDot32's split form).
    const dots = relaxedDot32(v128.load(a8q), levels32(fmt, b, 0), v128.load(a8q, 16), levels32(fmt, b, 1));
    if (offset32(fmt) == 0) return dots;
    // The offset (8 or 16, a power of two) times the block's activation sum, off lane 0.
    return i32x4.sub(dots, i32x4.shl(v128.load32_zero(a8 + <usize>cols + (<usize>i << 2)), offsetShift32(fmt)));
  }
  const ap = a + (<usize>i << 6);
  return i32x4.add(dot16(group32(fmt, b, 0), ap), dot16(group32(fmt, b, 1), ap + 32));
}

@inline function scale32(fmt: i32, b: usize): f32 {
  if (fmt == Q8_0) return q8_0Scale(b);
  if (fmt == Q4_0) return q4_0Scale(b);
  if (fmt == Q5_0) return q5_0Scale(b);
  if (fmt == IQ4_NL) return iq4_nlScale(b);
  if (fmt == Q4_1) return q4_1Scale(b);
  return q5_1Scale(b);
}

/** Q4_1/Q5_1 carry a per-block offset m, multiplied by the Q8_1 activation sum s. */
@inline function hasMin32(fmt: i32): bool {
  return fmt == Q4_1 || fmt == Q5_1;
}

@inline function min32(fmt: i32, b: usize): f32 {
  if (fmt == Q4_1) return q4_1Min(b);
  return q5_1Min(b);
}

/** acc + block i's integer dot (block at `b`) times its weight and activation scales. */
@inline function blockMadd(fmt: i32, b: usize, a: usize, ad: usize, cols: i32, nb: i32, i: i32, acc: v128): v128 {
  return madd(f32x4.convert_i32x4_s(blockDot32(fmt, b, a, cols, nb, i)), f32x4.splat(scale32(fmt, b) * load<f32>(ad + (<usize>i << 2))), acc);
}

/** Block i's min term m * s (Q4_1/Q5_1; `as` is the activation row's f32 s[nb]). */
@inline function blockMin(fmt: i32, b: usize, as: usize, i: i32): f32 {
  return min32(fmt, b) * load<f32>(as + (<usize>i << 2));
}

/** y[r] for r in [r0, r1): activation row at `a` is i16 q[cols] | f32 d[nb] (| f32 s[nb]). */
@inline export function mv32(fmt: i32, w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, y: usize, cols: i32): void {
  const nb = cols >> 5;
  const ad = a + (<usize>cols << 1);
  const as = ad + (<usize>nb << 2);
  const bytes = blockBytes32(fmt);
  for (let r = r0; r < r1; r++) {
    let b = w + <usize>r * rowBytes;
    // Unsigned formats: two accumulators (even and odd blocks), so the multiply-adds of a row are not
    // one latency chain (Q4_0 1.16x on Node 20, 1.07x on Node 24). Q8_0 gains on Node 20 but loses 7 %
    // on Node 24, so the signed formats keep one chain.
    let acc = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    let accMin: f32 = 0;
    let i = 0;
    for (; unsigned32(fmt) && i + 1 < nb; i += 2) {
      acc = blockMadd(fmt, b, a, ad, cols, nb, i, acc);
      acc1 = blockMadd(fmt, b + bytes, a, ad, cols, nb, i + 1, acc1);
      if (hasMin32(fmt)) accMin += blockMin(fmt, b, as, i) + blockMin(fmt, b + bytes, as, i + 1);
      b += bytes << 1;
    }
    for (; i < nb; i++) {
      acc = blockMadd(fmt, b, a, ad, cols, nb, i, acc);
      if (hasMin32(fmt)) accMin += blockMin(fmt, b, as, i);
      b += bytes;
    }
    store<f32>(y + (<usize>r << 2), hsum(f32x4.add(acc, acc1)) + accMin);
  }
}

/** Decoded row: i16 q[cols] | f32 d[nb] | f32 m[nb] (m only for Q4_1/Q5_1). */
@inline function decode32(fmt: i32, b: usize, cols: i32, out: usize): void {
  const nb = cols >> 5;
  const dOut = out + (<usize>cols << 1);
  const mOut = dOut + (<usize>nb << 2);
  const bytes = blockBytes32(fmt);
  for (let i = 0; i < nb; i++) {
    const o = out + (<usize>i << 6);
    store16(o, group32(fmt, b, 0));
    store16(o + 32, group32(fmt, b, 1));
    store<f32>(dOut + (<usize>i << 2), scale32(fmt, b));
    if (hasMin32(fmt)) store<f32>(mOut + (<usize>i << 2), min32(fmt, b));
    b += bytes;
  }
}

/** Activation rows i .. i+3 (rows past n repeat row i: computed, never stored). */
@inline function rowAt(a: usize, aStride: usize, i: i32, k: i32, n: i32): usize {
  return a + <usize>(i + k < n ? i + k : i) * aStride;
}

/** Stores the results of activation rows i .. i+3 that exist. */
@inline function storeRows(y: usize, yStride: usize, i: i32, n: i32, v0: f32, v1: f32, v2: f32, v3: f32): void {
  store<f32>(y + <usize>i * yStride, v0);
  if (i + 1 < n) store<f32>(y + <usize>(i + 1) * yStride, v1);
  if (i + 2 < n) store<f32>(y + <usize>(i + 2) * yStride, v2);
  if (i + 3 < n) store<f32>(y + <usize>(i + 3) * yStride, v3);
}

/**
 * A decoded weight row (i16 weights, then per-block data) times n activation rows, four at a time
 * so each weight vector load serves four dot products; Y[i] at y + i * yStride.
 *
 * `block` is 32 (Q8_0/Q8_1 families: decoded row i16 w[cols] | f32 d[nb] | f32 m[nb]; activation
 * rows i16 q | f32 d | f32 s; min term m * s) or 256 (Q8_K family: decoded row i16 (q * scale)[cols]
 * | i16 min[cols/16] | f32 d[nb] | f32 dmin[nb]; activation rows i16 q | f32 d | i16 bsum[cols/16];
 * min term -dmin * dy * sum(min * bsum)).
 */
@inline function decodedRows(block: i32, dw: usize, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, withMin: bool): void {
  const nb = cols / block;
  const blockBytes = <usize>block << 1;
  const mins = dw + (<usize>cols << 1);
  const dd = block == 32 ? mins : mins + (<usize>(cols >> 4) << 1);
  const dm = dd + (<usize>nb << 2);
  const actD = <usize>cols << 1;
  const actExtra = actD + (<usize>nb << 2);
  for (let i = 0; i < n; i += 4) {
    const a0 = rowAt(a, aStride, i, 0, n);
    const a1 = rowAt(a, aStride, i, 1, n);
    const a2 = rowAt(a, aStride, i, 2, n);
    const a3 = rowAt(a, aStride, i, 3, n);
    let accV = f32x4.splat(0);
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    let acc2 = f32x4.splat(0);
    let acc3 = f32x4.splat(0);
    let min0: f32 = 0;
    let min1: f32 = 0;
    let min2: f32 = 0;
    let min3: f32 = 0;
    for (let b = 0; b < nb; b++) {
      const o = <usize>b * blockBytes;
      let s0 = i32x4.splat(0);
      let s1 = i32x4.splat(0);
      let s2 = i32x4.splat(0);
      let s3 = i32x4.splat(0);
      for (let k: usize = 0; k < blockBytes; k += 16) {
        const wv = v128.load(dw + o + k);
        s0 = i32x4.add(s0, i32x4.dot_i16x8_s(wv, v128.load(a0 + o + k)));
        s1 = i32x4.add(s1, i32x4.dot_i16x8_s(wv, v128.load(a1 + o + k)));
        s2 = i32x4.add(s2, i32x4.dot_i16x8_s(wv, v128.load(a2 + o + k)));
        s3 = i32x4.add(s3, i32x4.dot_i16x8_s(wv, v128.load(a3 + o + k)));
      }
      const bo = <usize>b << 2;
      if (block == 256) {
        // Q8_K family: the four rows' dots reduced into one vector (lane j = row i + j), so the
        // block's scales and mins cost one vector operation for all four rows and one float
        // accumulator stays live (as in levelRows256).
        let dy = f32x4.splat(load<f32>(a0 + actD + bo));
        dy = f32x4.replace_lane(dy, 1, load<f32>(a1 + actD + bo));
        dy = f32x4.replace_lane(dy, 2, load<f32>(a2 + actD + bo));
        dy = f32x4.replace_lane(dy, 3, load<f32>(a3 + actD + bo));
        accV = madd(f32x4.convert_i32x4_s(laneSums4(s0, s1, s2, s3)), f32x4.mul(dy, f32x4.splat(load<f32>(dd + bo))), accV);
        if (withMin) {
          // The 16 group mins and the 16 activation group sums are i16: two dot_i16x8 per row.
          const mo = <usize>b << 5;
          const m0 = v128.load(mins + mo);
          const m1 = v128.load(mins + mo, 16);
          const m = laneSums4(
            i32x4.add(i32x4.dot_i16x8_s(m0, v128.load(a0 + actExtra + mo)), i32x4.dot_i16x8_s(m1, v128.load(a0 + actExtra + mo, 16))),
            i32x4.add(i32x4.dot_i16x8_s(m0, v128.load(a1 + actExtra + mo)), i32x4.dot_i16x8_s(m1, v128.load(a1 + actExtra + mo, 16))),
            i32x4.add(i32x4.dot_i16x8_s(m0, v128.load(a2 + actExtra + mo)), i32x4.dot_i16x8_s(m1, v128.load(a2 + actExtra + mo, 16))),
            i32x4.add(i32x4.dot_i16x8_s(m0, v128.load(a3 + actExtra + mo)), i32x4.dot_i16x8_s(m1, v128.load(a3 + actExtra + mo, 16))),
          );
          accV = madd(f32x4.convert_i32x4_s(m), f32x4.mul(dy, f32x4.splat(-load<f32>(dm + bo))), accV);
        }
        continue;
      }
      const d = load<f32>(dd + bo);
      const dy0 = load<f32>(a0 + actD + bo);
      const dy1 = load<f32>(a1 + actD + bo);
      const dy2 = load<f32>(a2 + actD + bo);
      const dy3 = load<f32>(a3 + actD + bo);
      acc0 = madd(f32x4.convert_i32x4_s(s0), f32x4.splat(d * dy0), acc0);
      acc1 = madd(f32x4.convert_i32x4_s(s1), f32x4.splat(d * dy1), acc1);
      acc2 = madd(f32x4.convert_i32x4_s(s2), f32x4.splat(d * dy2), acc2);
      acc3 = madd(f32x4.convert_i32x4_s(s3), f32x4.splat(d * dy3), acc3);
      if (withMin && block == 32) {
        const m = load<f32>(dm + bo);
        min0 += m * load<f32>(a0 + actExtra + bo);
        min1 += m * load<f32>(a1 + actExtra + bo);
        min2 += m * load<f32>(a2 + actExtra + bo);
        min3 += m * load<f32>(a3 + actExtra + bo);
      } else if (withMin) {
        // The 16 group mins and the 16 activation group sums are i16: two dot_i16x8 per row.
        const mo = <usize>b << 5;
        const m0 = v128.load(mins + mo);
        const m1 = v128.load(mins + mo, 16);
        const dmin = -load<f32>(dm + bo);
        min0 += dmin * dy0 * <f32>hsumI(i32x4.add(i32x4.dot_i16x8_s(m0, v128.load(a0 + actExtra + mo)), i32x4.dot_i16x8_s(m1, v128.load(a0 + actExtra + mo, 16))));
        min1 += dmin * dy1 * <f32>hsumI(i32x4.add(i32x4.dot_i16x8_s(m0, v128.load(a1 + actExtra + mo)), i32x4.dot_i16x8_s(m1, v128.load(a1 + actExtra + mo, 16))));
        min2 += dmin * dy2 * <f32>hsumI(i32x4.add(i32x4.dot_i16x8_s(m0, v128.load(a2 + actExtra + mo)), i32x4.dot_i16x8_s(m1, v128.load(a2 + actExtra + mo, 16))));
        min3 += dmin * dy3 * <f32>hsumI(i32x4.add(i32x4.dot_i16x8_s(m0, v128.load(a3 + actExtra + mo)), i32x4.dot_i16x8_s(m1, v128.load(a3 + actExtra + mo, 16))));
      }
    }
    if (block == 256) storeRows(y, yStride, i, n, f32x4.extract_lane(accV, 0), f32x4.extract_lane(accV, 1), f32x4.extract_lane(accV, 2), f32x4.extract_lane(accV, 3));
    else storeRows(y, yStride, i, n, hsum(acc0) + min0, hsum(acc1) + min1, hsum(acc2) + min2, hsum(acc3) + min3);
  }
}

function rows32(dw: usize, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, withMin: bool): void {
  decodedRows(32, dw, a, aStride, n, y, yStride, cols, withMin);
}

function rows256(dw: usize, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, withMin: bool): void {
  decodedRows(256, dw, a, aStride, n, y, yStride, cols, withMin);
}


/**
 * Where pack_rows4 put the four-row tables of the n activation rows at `a`: right after them,
 * 16-aligned; group q (rows 4q .. 4q+3), block b at + (q * nb + b) * 32: f32 d[4] | i32 sum[4]
 * (Q8_0) or f32 s[4] (Q8_1).
 */
@inline function rows4Table(a: usize, aStride: usize, n: i32): usize {
  return (a + <usize>n * aStride + 15) & ~(<usize>15);
}

/** The four-row table of the group holding activation row i (i a multiple of 4). */
@inline function rows4Group(table: usize, i: i32, nb: i32): usize {
  return table + <usize>(i >> 2) * (<usize>nb << 5);
}

/** Transpose-add: [sum of p0's lanes, p1's, p2's, p3's] (unpack low/high dwords, then qwords). */
@inline function laneSums4(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const q01 = i32x4.add(i32x4.shuffle(p0, p1, 0, 4, 1, 5), i32x4.shuffle(p0, p1, 2, 6, 3, 7));
  const q23 = i32x4.add(i32x4.shuffle(p2, p3, 0, 4, 1, 5), i32x4.shuffle(p2, p3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(q01, q23, 0, 1, 4, 5), i32x4.shuffle(q01, q23, 2, 3, 6, 7));
}

/**
 * The signed matMul's block dot: |w| levels (7 bits) times sign-moved activations. Its pair sums can
 * leave i16 (2 * 127 * 127 each), so the split form widens each half through a multiply by ones
 * instead of adding halves in i16; the FUSED_DOT build is relaxedDot32's two vpdpbusd.
 */
@inline function signedBlockDot(x0: v128, l0: v128, x1: v128, l1: v128, ones: v128): v128 {
  if (FUSED_DOT) return relaxedDot32(x0, l0, x1, l1);
  return i32x4.add(i32x4.dot_i16x8_s(relaxedPairs(x0, l0), ones), i32x4.dot_i16x8_s(relaxedPairs(x1, l1), ones));
}

/** Signed 32-block formats (Q8_0, IQ4_NL): the relaxed matMul moves each weight's sign onto the activation. */
@inline function signed32(fmt: i32): bool {
  return fmt == Q8_0 || fmt == IQ4_NL;
}

/**
 * Relaxed-SIMD matMul of the signed 32-blocks (Q8_0, IQ4_NL): each block's weights serve four
 * activation rows (i8 x u7 dot, 16 multiply-adds per instruction), whose four integer dots are
 * reduced into one vector (lane k = row i + k) so the scales and the float accumulation cost one
 * vector operation for all four rows, with d read from the pack_rows4 tables.
 *
 * relaxed_dot needs its second operand in 0..127, so the row is decoded to |w| (u8) | sign masks m
 * (0 / -1 bytes) | f32 d[nb] | i32 neg[nb], neg = sum of |w| over the block's negative weights. Per
 * activation row the sign moves onto the activations with one xor: x ^ m is x where w >= 0 and
 * -x - 1 where w < 0, so dot(x ^ m, |w|) = dot(x, w) - neg, exact in integers (|x ^ m| <= 128, pair
 * sums <= 2 * 128 * 127 fit i16). A weight row holding -128 (|w| would not fit 7 bits; quantizers
 * never write it) takes the SIMD128 path instead.
 */
@inline function mm32RelaxedSigned(
  fmt: i32, w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32,
  y: usize, yStride: usize, cols: i32, scratch: usize,
): void {
  const nb = cols >> 5;
  const q8 = i8Offset32(fmt, cols);
  const table = rows4Table(a, aStride, n);
  const masks = scratch + <usize>cols;
  const dOut = masks + <usize>cols;
  const extra = dOut + (<usize>nb << 2);
  const bytes = blockBytes32(fmt);
  const zero = i8x16.splat(0);
  const ones = i16x8.splat(1);
  for (let r = r0; r < r1; r++) {
    let b = w + <usize>r * rowBytes;
    let wide = zero;
    for (let i = 0; i < nb; i++) {
      const o = <usize>i << 5;
      const g0 = group32(fmt, b, 0);
      const g1 = group32(fmt, b, 1);
      const m0 = i8x16.lt_s(g0, zero);
      const m1 = i8x16.lt_s(g1, zero);
      const abs0 = i8x16.abs(g0);
      const abs1 = i8x16.abs(g1);
      wide = v128.or(wide, v128.or(i8x16.eq(g0, i8x16.splat(-128)), i8x16.eq(g1, i8x16.splat(-128))));
      v128.store(scratch + o, abs0);
      v128.store(scratch + o, abs1, 16);
      v128.store(masks + o, m0);
      v128.store(masks + o, m1, 16);
      // |w| of the negative weights summed by u8 pair adds (<= 32 * 127 fits i16).
      const neg = i16x8.add(i16x8.extadd_pairwise_i8x16_u(v128.and(abs0, m0)), i16x8.extadd_pairwise_i8x16_u(v128.and(abs1, m1)));
      store<i32>(extra + (<usize>i << 2), hsumI(i32x4.extadd_pairwise_i16x8_s(neg)));
      store<f32>(dOut + (<usize>i << 2), scale32(fmt, b));
      b += bytes;
    }
    if (v128.any_true(wide)) {
      decode32(fmt, w + <usize>r * rowBytes, cols, scratch);
      rows32(scratch, a, aStride, n, y + (<usize>r << 2), yStride, cols, false);
      continue;
    }
    const yr = y + (<usize>r << 2);
    for (let i = 0; i < n; i += 4) {
      const a0 = rowAt(a, aStride, i, 0, n) + q8;
      const a1 = rowAt(a, aStride, i, 1, n) + q8;
      const a2 = rowAt(a, aStride, i, 2, n) + q8;
      const a3 = rowAt(a, aStride, i, 3, n) + q8;
      const t = rows4Group(table, i, nb);
      let acc = f32x4.splat(0);
      for (let k = 0; k < nb; k++) {
        const o = <usize>k << 5;
        const l0 = v128.load(scratch + o);
        const l1 = v128.load(scratch + o, 16);
        const m0 = v128.load(masks + o);
        const m1 = v128.load(masks + o, 16);
        const p0 = signedBlockDot(v128.xor(v128.load(a0 + o), m0), l0, v128.xor(v128.load(a0 + o, 16), m1), l1, ones);
        const p1 = signedBlockDot(v128.xor(v128.load(a1 + o), m0), l0, v128.xor(v128.load(a1 + o, 16), m1), l1, ones);
        const p2 = signedBlockDot(v128.xor(v128.load(a2 + o), m0), l0, v128.xor(v128.load(a2 + o, 16), m1), l1, ones);
        const p3 = signedBlockDot(v128.xor(v128.load(a3 + o), m0), l0, v128.xor(v128.load(a3 + o, 16), m1), l1, ones);
        const dots = i32x4.add(laneSums4(p0, p1, p2, p3), v128.load32_splat(extra + (<usize>k << 2)));
        const dw = load<f32>(dOut + (<usize>k << 2));
        acc = madd(f32x4.convert_i32x4_s(dots), f32x4.mul(v128.load(t + o), f32x4.splat(dw)), acc);
      }
      storeRows(yr, yStride, i, n, f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1), f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3));
    }
  }
}

/** 4-bit levels (Q4_0, Q4_1): i16 pair sums of a block stay small enough for an i16 transpose. */
@inline function fourBit32(fmt: i32): bool {
  return fmt == Q4_0 || fmt == Q4_1;
}

/**
 * [total of p0's i16 lanes, p1's, p2's, p3's] as i32, for the i16 pair sums of one block's dot of
 * four activation rows. 4-bit levels: each lane is at most 2 * 2 * 127 * 15 = 7620, so the transpose
 * adds in i16 (four lanes, <= 30480) and widens once (10 operations, not 13); 5-bit levels widen
 * first. The FUSED_DOT build's parts are i32 already (unsignedBlockPart): one i32 transpose.
 */
@inline function blockSums4(fmt: i32, p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  if (FUSED_DOT) return laneSums4(p0, p1, p2, p3);
  if (!fourBit32(fmt)) {
    return laneSums4(i32x4.extadd_pairwise_i16x8_s(p0), i32x4.extadd_pairwise_i16x8_s(p1), i32x4.extadd_pairwise_i16x8_s(p2), i32x4.extadd_pairwise_i16x8_s(p3));
  }
  const q01 = i16x8.add(i32x4.shuffle(p0, p1, 0, 4, 1, 5), i32x4.shuffle(p0, p1, 2, 6, 3, 7));
  const q23 = i16x8.add(i32x4.shuffle(p2, p3, 0, 4, 1, 5), i32x4.shuffle(p2, p3, 2, 6, 3, 7));
  return i32x4.extadd_pairwise_i16x8_s(i16x8.add(i32x4.shuffle(q01, q23, 0, 1, 4, 5), i32x4.shuffle(q01, q23, 2, 3, 6, 7)));
}

/**
 * One activation row's part of a block dot in mm32RelaxedUnsigned, reduced by blockSums4: i16 pair
 * sums, or in the FUSED_DOT build i32 partial sums (relaxedDot32).
 */
@inline function unsignedBlockPart(x0: v128, l0: v128, x1: v128, l1: v128): v128 {
  if (FUSED_DOT) return relaxedDot32(x0, l0, x1, l1);
  return relaxedPairs32(x0, l0, x1, l1);
}

/** Unsigned levels | f32 d[nb] | f32 m[nb] (m for Q4_1/Q5_1) of weight row `b` into `out` (levels) and `dOut`. */
@inline function decodeLevels32(fmt: i32, b: usize, nb: i32, out: usize, dOut: usize, mOut: usize): void {
  const bytes = blockBytes32(fmt);
  for (let i = 0; i < nb; i++) {
    const o = <usize>i << 5;
    v128.store(out + o, levels32(fmt, b, 0));
    v128.store(out + o, levels32(fmt, b, 1), 16);
    store<f32>(dOut + (<usize>i << 2), scale32(fmt, b));
    if (hasMin32(fmt)) store<f32>(mOut + (<usize>i << 2), min32(fmt, b));
    b += bytes;
  }
}

/**
 * Relaxed-SIMD matMul of the unsigned 32-block formats (Q4_0, Q5_0, Q4_1, Q5_1): two weight rows,
 * decoded to u8 levels in the scratch, times four activation rows per step, so each activation
 * vector load and pack_rows4 table read serves two rows and each weight vector four (i8 x u7 dot, 16
 * multiply-adds per instruction); the four dots of a weight row reduce into one vector (lane k = row
 * i + k) and the offset, scales and float accumulation cost one vector operation for four rows. The
 * offset comes off through the activation block sums. An odd last row runs with itself as partner
 * (computed twice, stored once).
 * Scratch: levels A[cols] | levels B[cols] | f32 d A[nb] | d B[nb] (| m A[nb] | m B[nb]): without mins
 * the size of one decoded row (decodedRowBytes), so the arena keeps its layout.
 */
@inline function mm32RelaxedUnsigned(
  fmt: i32, w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32,
  y: usize, yStride: usize, cols: i32, scratch: usize,
): void {
  const nb = cols >> 5;
  const q8 = i8Offset32(fmt, cols);
  const table = rows4Table(a, aStride, n);
  const levelsB = scratch + <usize>cols;
  const dA = levelsB + <usize>cols;
  const dB = dA + (<usize>nb << 2);
  const mA = dB + (<usize>nb << 2);
  const mB = mA + (<usize>nb << 2);
  const shift = offsetShift32(fmt);
  for (let r = r0; r < r1; r += 2) {
    const pair = r + 1 < r1;
    decodeLevels32(fmt, w + <usize>r * rowBytes, nb, scratch, dA, mA);
    decodeLevels32(fmt, w + <usize>(pair ? r + 1 : r) * rowBytes, nb, levelsB, dB, mB);
    const yA = y + (<usize>r << 2);
    for (let i = 0; i < n; i += 4) {
      const a0 = rowAt(a, aStride, i, 0, n) + q8;
      const a1 = rowAt(a, aStride, i, 1, n) + q8;
      const a2 = rowAt(a, aStride, i, 2, n) + q8;
      const a3 = rowAt(a, aStride, i, 3, n) + q8;
      const t = rows4Group(table, i, nb);
      let accA = f32x4.splat(0);
      let accB = f32x4.splat(0);
      for (let k = 0; k < nb; k++) {
        const o = <usize>k << 5;
        const la0 = v128.load(scratch + o);
        const la1 = v128.load(scratch + o, 16);
        const lb0 = v128.load(levelsB + o);
        const lb1 = v128.load(levelsB + o, 16);
        let x0 = v128.load(a0 + o);
        let x1 = v128.load(a0 + o, 16);
        const pa0 = unsignedBlockPart(x0, la0, x1, la1);
        const pb0 = unsignedBlockPart(x0, lb0, x1, lb1);
        x0 = v128.load(a1 + o);
        x1 = v128.load(a1 + o, 16);
        const pa1 = unsignedBlockPart(x0, la0, x1, la1);
        const pb1 = unsignedBlockPart(x0, lb0, x1, lb1);
        x0 = v128.load(a2 + o);
        x1 = v128.load(a2 + o, 16);
        const pa2 = unsignedBlockPart(x0, la0, x1, la1);
        const pb2 = unsignedBlockPart(x0, lb0, x1, lb1);
        x0 = v128.load(a3 + o);
        x1 = v128.load(a3 + o, 16);
        const pa3 = unsignedBlockPart(x0, la0, x1, la1);
        const pb3 = unsignedBlockPart(x0, lb0, x1, lb1);
        const tb = t + o;
        let dotsA = blockSums4(fmt, pa0, pa1, pa2, pa3);
        let dotsB = blockSums4(fmt, pb0, pb1, pb2, pb3);
        if (offset32(fmt) != 0) {
          const off = i32x4.shl(v128.load(tb, 16), shift);
          dotsA = i32x4.sub(dotsA, off);
          dotsB = i32x4.sub(dotsB, off);
        }
        const dy = v128.load(tb);
        const ko = <usize>k << 2;
        accA = madd(f32x4.convert_i32x4_s(dotsA), f32x4.mul(dy, f32x4.splat(load<f32>(dA + ko))), accA);
        accB = madd(f32x4.convert_i32x4_s(dotsB), f32x4.mul(dy, f32x4.splat(load<f32>(dB + ko))), accB);
        if (hasMin32(fmt)) {
          const s = v128.load(tb, 16);
          accA = madd(f32x4.splat(load<f32>(mA + ko)), s, accA);
          accB = madd(f32x4.splat(load<f32>(mB + ko)), s, accB);
        }
      }
      storeRows(yA, yStride, i, n, f32x4.extract_lane(accA, 0), f32x4.extract_lane(accA, 1), f32x4.extract_lane(accA, 2), f32x4.extract_lane(accA, 3));
      if (pair) storeRows(yA + 4, yStride, i, n, f32x4.extract_lane(accB, 0), f32x4.extract_lane(accB, 1), f32x4.extract_lane(accB, 2), f32x4.extract_lane(accB, 3));
    }
  }
}

@inline export function mm32(
  fmt: i32, w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32,
  y: usize, yStride: usize, cols: i32, scratch: usize,
): void {
  if (ASC_FEATURE_RELAXED_SIMD && unsigned32(fmt)) {
    mm32RelaxedUnsigned(fmt, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
    return;
  }
  if (ASC_FEATURE_RELAXED_SIMD && signed32(fmt)) {
    mm32RelaxedSigned(fmt, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
    return;
  }
  for (let r = r0; r < r1; r++) {
    decode32(fmt, w + <usize>r * rowBytes, cols, scratch);
    rows32(scratch, a, aStride, n, y + (<usize>r << 2), yStride, cols, hasMin32(fmt));
  }
}

/**
 * After quantize_activations of n Q8_0 (kind 8) or Q8_1 (kind 9) rows at `a`: writes the four-row
 * tables the relaxed matMul reads (see rows4Table); rows past n repeat row 4q. Other kinds: nothing.
 */
export function pack_rows4(kind: i32, a: usize, aStride: usize, n: i32, cols: i32): void {
  if (kind != 8 && kind != 9) return;
  const nb = cols >> 5;
  const table = rows4Table(a, aStride, n);
  for (let i = 0; i < n; i += 4) {
    const t = rows4Group(table, i, nb);
    for (let k = 0; k < 4; k++) {
      const d = rowAt(a, aStride, i, k, n) + (<usize>cols << 1);
      // Q8_0: i16 q | f32 d | i8 q | i32 sum; Q8_1: i16 q | f32 d | f32 s | i8 q.
      const second = kind == 9 ? d + (<usize>nb << 2) : d + (<usize>nb << 2) + <usize>cols;
      for (let b = 0; b < nb; b++) {
        store<u32>(t + (<usize>b << 5) + (<usize>k << 2), load<u32>(d + (<usize>b << 2)));
        store<u32>(t + (<usize>b << 5) + 16 + (<usize>k << 2), load<u32>(second + (<usize>b << 2)));
      }
    }
  }
}

// ---------------------------------------------------------------- 256-weight super-blocks (Q8_K activations)

@inline function blockBytes256(fmt: i32): usize {
  if (fmt == Q2_K) return Q2_K_BLOCK_BYTES;
  if (fmt == Q3_K) return Q3_K_BLOCK_BYTES;
  if (fmt == Q4_K) return Q4_K_BLOCK_BYTES;
  if (fmt == Q5_K) return Q5_K_BLOCK_BYTES;
  if (fmt == Q6_K) return Q6_K_BLOCK_BYTES;
  return IQ4_XS_BLOCK_BYTES;
}

/** Every k-quant stores unsigned levels; IQ4_XS indexes a signed table. */
@inline function unsigned256(fmt: i32): bool {
  return fmt != IQ4_XS;
}

@inline function offset256(fmt: i32): i32 {
  if (fmt == Q3_K) return Q3_K_OFFSET;
  if (fmt == Q6_K) return Q6_K_OFFSET;
  return 0;
}

@inline function levels256(fmt: i32, b: usize, g: i32): v128 {
  if (fmt == Q2_K) return q2_kGroup(b, g);
  if (fmt == Q3_K) return q3_kLevels(b, g);
  if (fmt == Q4_K) return q4_kGroup(b, g);
  if (fmt == Q5_K) return q5_kGroup(b, g);
  return q6_kLevels(b, g);
}

/** Signed i8 weights of group g. */
@inline function group256(fmt: i32, b: usize, g: i32): v128 {
  if (fmt == IQ4_XS) return iq4_xsGroup(b, g);
  if (offset256(fmt) != 0) return i8x16.sub(levels256(fmt, b, g), i8x16.splat(<i8>offset256(fmt)));
  return levels256(fmt, b, g);
}

/** Integer scale of group g (16 weights). */
@inline function scale256(fmt: i32, b: usize, g: i32): i32 {
  if (fmt == Q2_K) return q2_kScale(b, g);
  if (fmt == Q3_K) return q3_kScale(b, g);
  if (fmt == Q4_K) return q4_kScale(b, g);
  if (fmt == Q5_K) return q5_kScale(b, g);
  if (fmt == Q6_K) return q6_kScale(b, g);
  return iq4_xsScale(b, g);
}

@inline function d256(fmt: i32, b: usize): f32 {
  if (fmt == Q2_K) return q2_kD(b);
  if (fmt == Q3_K) return q3_kD(b);
  if (fmt == Q4_K) return q4_kD(b);
  if (fmt == Q5_K) return q5_kD(b);
  if (fmt == Q6_K) return q6_kD(b);
  return iq4_xsD(b);
}

/** Q2_K/Q4_K/Q5_K subtract dmin * m per group, using the Q8_K activation group sums. */
@inline function hasMin256(fmt: i32): bool {
  return fmt == Q2_K || fmt == Q4_K || fmt == Q5_K;
}

@inline function min256(fmt: i32, b: usize, g: i32): i32 {
  if (fmt == Q2_K) return q2_kMin(b, g);
  if (fmt == Q4_K) return q4_kMin(b, g);
  return q5_kMin(b, g);
}

@inline function dmin256(fmt: i32, b: usize): f32 {
  if (fmt == Q2_K) return q2_kDmin(b);
  if (fmt == Q4_K) return q4_kDmin(b);
  return q5_kDmin(b);
}

/**
 * isum + scale(g) * (group g . activations): one group of 16, g constant after unrolling. `ap` is
 * the block's i16 activations, `a8` its i8 copy and `bs` its i16 group sums (relaxed build:
 * unsigned levels through relaxed_dot_i8x16_i7x16, the offset taken off via the group sum).
 */
@inline function kGroupDot(fmt: i32, b: usize, ap: usize, a8: usize, bs: usize, g: i32, isum: v128): v128 {
  let s: v128;
  if (ASC_FEATURE_RELAXED_SIMD && unsigned256(fmt)) {
    let init = i32x4.splat(0);
    // Q3_K's packed scales make taking the offset off per group simpler (Q6_K has its own block loops).
    if (offset256(fmt) != 0) init = i32x4.replace_lane(init, 0, -offset256(fmt) * <i32>load<i16>(bs + (<usize>g << 1)));
    s = relaxedDot(v128.load(a8 + (<usize>g << 4)), levels256(fmt, b, g), init);
  } else {
    s = dot16(group256(fmt, b, g), ap + (<usize>g << 5));
  }
  return i32x4.add(isum, i32x4.mul(s, i32x4.splat(scale256(fmt, b, g))));
}

/** The 16 groups of one super-block (Q2_K, Q3_K, IQ4_XS), unrolled so every shift, mask and scale index is a constant. */
@inline function kBlockDot(fmt: i32, b: usize, ap: usize, a8: usize, bs: usize): v128 {
  let isum = i32x4.splat(0);
  isum = kGroupDot(fmt, b, ap, a8, bs, 0, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 1, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 2, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 3, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 4, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 5, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 6, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 7, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 8, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 9, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 10, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 11, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 12, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 13, isum);
  isum = kGroupDot(fmt, b, ap, a8, bs, 14, isum);
  return kGroupDot(fmt, b, ap, a8, bs, 15, isum);
}

/**
 * Unsigned levels of the two sub-blocks (32 weights each) 2j and 2j+1 of a Q4_K/Q5_K block, from
 * the quant bytes loaded once: sub-block 2j is the low nibbles of qs[32j..32j+32], 2j+1 the high.
 */
@inline function kPairLevels(fmt: i32, b: usize, j: i32, high: bool, part: i32): v128 {
  const q = v128.load(b + (fmt == Q4_K ? 16 : 48) + (<usize>j << 5) + (<usize>part << 4));
  const levels = high ? highNibbles(q) : lowNibbles(q);
  if (fmt == Q4_K) return levels;
  return v128.or(levels, byteBitToBytes(v128.load(b + 16 + (<usize>part << 4)), 2 * j + (high ? 1 : 0), 16));
}

/**
 * isum + scale(s) * (sub-block s . activations) for a Q4_K/Q5_K sub-block of 32 (s constant after
 * unrolling). Relaxed build: two pmaddubsw, added as i16 (levels <= 31), then one pmaddwd with the
 * scale broadcast from `sc` (i16 scales); the multiply by the scale costs nothing extra. SIMD128:
 * i16 dot products, one i32 multiply per sub-block.
 */
@inline function kSubBlockDot(fmt: i32, b: usize, ap: usize, a8: usize, sc: v128, s: i32, isum: v128): v128 {
  const j = s >> 1;
  const high = (s & 1) == 1;
  const l0 = kPairLevels(fmt, b, j, high, 0);
  const l1 = kPairLevels(fmt, b, j, high, 1);
  if (ASC_FEATURE_RELAXED_SIMD) {
    const pairs = relaxedPairs32(v128.load(a8 + (<usize>s << 5)), l0, v128.load(a8 + (<usize>s << 5), 16), l1);
    return i32x4.add(isum, i32x4.dot_i16x8_s(pairs, broadcast16(sc, s)));
  }
  const d = i32x4.add(dot16(l0, ap + (<usize>s << 6)), dot16(l1, ap + (<usize>s << 6) + 32));
  return i32x4.add(isum, i32x4.mul(d, i32x4.extend_low_i16x8_u(broadcast16(sc, s))));
}

/** The eight sub-blocks of a Q4_K/Q5_K block; `sm` from q4_kScalesMins. */
@inline function kPairBlockDot(fmt: i32, b: usize, ap: usize, a8: usize, sm: v128): v128 {
  const sc = i16x8.extend_low_i8x16_u(sm);
  let isum = i32x4.splat(0);
  isum = kSubBlockDot(fmt, b, ap, a8, sc, 0, isum);
  isum = kSubBlockDot(fmt, b, ap, a8, sc, 1, isum);
  isum = kSubBlockDot(fmt, b, ap, a8, sc, 2, isum);
  isum = kSubBlockDot(fmt, b, ap, a8, sc, 3, isum);
  isum = kSubBlockDot(fmt, b, ap, a8, sc, 4, isum);
  isum = kSubBlockDot(fmt, b, ap, a8, sc, 5, isum);
  isum = kSubBlockDot(fmt, b, ap, a8, sc, 6, isum);
  return kSubBlockDot(fmt, b, ap, a8, sc, 7, isum);
}

/**
 * The eight sub-blocks of a Q4_K block as a loop over the four pairs (2j, 2j+1) that share 32
 * quant bytes. Not unrolled on purpose: V8 (TurboFan) issues every load of a straight-line block
 * first and then spills most of them to the stack (about 40 spill moves per block in the unrolled
 * form); a loop body of six loads stays in registers. The scales ride along in `sc`, rotated by one
 * pair per iteration so the broadcasts keep constant lanes.
 */
@inline function q4kLoopBlockDot(b: usize, ap: usize, a8: usize, sm: v128): v128 {
  let sc = i16x8.extend_low_i8x16_u(sm);
  let isum = i32x4.splat(0);
  for (let j = 0; j < 4; j++) {
    const q0 = v128.load(b + 16 + (<usize>j << 5));
    const q1 = v128.load(b + 16 + (<usize>j << 5), 16);
    if (ASC_FEATURE_RELAXED_SIMD) {
      const a = a8 + (<usize>j << 6);
      const lo = relaxedPairs32(v128.load(a), lowNibbles(q0), v128.load(a, 16), lowNibbles(q1));
      const hi = relaxedPairs32(v128.load(a, 32), highNibbles(q0), v128.load(a, 48), highNibbles(q1));
      isum = i32x4.add(isum, i32x4.add(i32x4.dot_i16x8_s(lo, broadcast16(sc, 0)), i32x4.dot_i16x8_s(hi, broadcast16(sc, 1))));
    } else {
      const a = ap + (<usize>j << 7);
      const lo = i32x4.add(dot16(lowNibbles(q0), a), dot16(lowNibbles(q1), a + 32));
      const hi = i32x4.add(dot16(highNibbles(q0), a + 64), dot16(highNibbles(q1), a + 96));
      isum = i32x4.add(isum, i32x4.add(i32x4.mul(lo, i32x4.extend_low_i16x8_u(broadcast16(sc, 0))), i32x4.mul(hi, i32x4.extend_low_i16x8_u(broadcast16(sc, 1)))));
    }
    sc = i32x4.shuffle(sc, sc, 1, 2, 3, 0);
  }
  return isum;
}

/** sum_g min(g >> 1) * bsum(g) of a Q4_K/Q5_K block as four i32 lanes: the mins paired up against the 16 group sums. */
@inline function kPairMins(sm: v128, bs: usize): v128 {
  const mins = i16x8.extend_high_i8x16_u(sm);
  const lo = i8x16.shuffle(mins, mins, 0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7);
  const hi = i8x16.shuffle(mins, mins, 8, 9, 8, 9, 10, 11, 10, 11, 12, 13, 12, 13, 14, 15, 14, 15);
  return i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(bs)), i32x4.dot_i16x8_s(hi, v128.load(bs, 16)));
}

/**
 * isum + scale(g) * (group g . activations) for the four Q6_K groups sharing one load of ql/qh:
 * half `n` (0, 1) and 16-byte part `part` (0, 1), groups g = 8n + 2k + part for k = 0..3. Relaxed
 * build only: one pmaddubsw per group (6-bit levels: pair sums <= 2 * 127 * 63) and one pmaddwd
 * with the i16 group scale broadcast from scLo/scHi.
 */
@inline function q6Quad(b: usize, a8: usize, n: i32, part: i32, scales: v128, isum: v128): v128 {
  const ql0 = v128.load(b + (<usize>n << 6) + (<usize>part << 4));
  const ql1 = v128.load(b + (<usize>n << 6) + 32 + (<usize>part << 4));
  const qh = v128.load(b + 128 + (<usize>n << 5) + (<usize>part << 4));
  const l0 = q6_kQuarter(ql0, ql1, qh, 0);
  const l1 = q6_kQuarter(ql0, ql1, qh, 1);
  const l2 = q6_kQuarter(ql0, ql1, qh, 2);
  const l3 = q6_kQuarter(ql0, ql1, qh, 3);
  const g = (n << 3) + part;
  isum = i32x4.add(isum, i32x4.dot_i16x8_s(relaxedPairs(v128.load(a8 + (<usize>g << 4)), l0), broadcast16(scales, part)));
  isum = i32x4.add(isum, i32x4.dot_i16x8_s(relaxedPairs(v128.load(a8 + (<usize>(g + 2) << 4)), l1), broadcast16(scales, part + 2)));
  isum = i32x4.add(isum, i32x4.dot_i16x8_s(relaxedPairs(v128.load(a8 + (<usize>(g + 4) << 4)), l2), broadcast16(scales, part + 4)));
  return i32x4.add(isum, i32x4.dot_i16x8_s(relaxedPairs(v128.load(a8 + (<usize>(g + 6) << 4)), l3), broadcast16(scales, part + 6)));
}

/** One Q6_K block on the relaxed build: 16 groups, then the offset 32 taken off via the group sums. */
@inline function q6RelaxedBlockDot(b: usize, a8: usize, bs: usize): v128 {
  const sc = q6_kScales(b);
  const lo = i16x8.extend_low_i8x16_s(sc);
  const hi = i16x8.extend_high_i8x16_s(sc);
  let isum = i32x4.splat(0);
  isum = q6Quad(b, a8, 0, 0, lo, isum);
  isum = q6Quad(b, a8, 0, 1, lo, isum);
  isum = q6Quad(b, a8, 1, 0, hi, isum);
  isum = q6Quad(b, a8, 1, 1, hi, isum);
  const offset = i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(bs)), i32x4.dot_i16x8_s(hi, v128.load(bs, 16)));
  return i32x4.sub(isum, i32x4.shl(offset, 5));
}

/**
 * One Q6_K block on the SIMD128 build, as a loop over the four (half n, 16-byte part) quads of
 * q6Quad: not unrolled, for the reason given at q4kLoopBlockDot (V8 spills the loads of an unrolled
 * block). Iteration t covers groups 8n + p + 2k (n = t >> 1, p = t & 1, k = 0..3), so the i8 scales
 * are put in that order once per block and rotated by four per iteration. The unsigned levels 0..63
 * are dotted as they are and the offset 32 comes off once per block through the Q8_K group sums
 * (exact), instead of a subtract per group. (The relaxed build keeps q6RelaxedBlockDot unrolled:
 * this loop measured 0.93x there.)
 */
@inline function q6LoopBlockDot(b: usize, ap: usize, bs: usize): v128 {
  const raw = q6_kScales(b);
  let sc = i8x16.shuffle(raw, raw, 0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15);
  let isum = i32x4.splat(0);
  for (let t = 0; t < 4; t++) {
    const n = <usize>(t >> 1);
    const part = <usize>(t & 1) << 4;
    const ql0 = v128.load(b + (n << 6) + part);
    const ql1 = v128.load(b + (n << 6) + 32 + part);
    const qh = v128.load(b + 128 + (n << 5) + part);
    const l0 = q6_kQuarter(ql0, ql1, qh, 0);
    const l1 = q6_kQuarter(ql0, ql1, qh, 1);
    const l2 = q6_kQuarter(ql0, ql1, qh, 2);
    const l3 = q6_kQuarter(ql0, ql1, qh, 3);
    // Group 8n + p starts at weight 128n + 16p.
    const w = (n << 7) + part;
    const s32 = i32x4.extend_low_i16x8_s(i16x8.extend_low_i8x16_s(sc));
    const q = ap + (w << 1);
    isum = i32x4.add(isum, i32x4.mul(dot16(l0, q), i32x4.shuffle(s32, s32, 0, 0, 0, 0)));
    isum = i32x4.add(isum, i32x4.mul(dot16(l1, q + 64), i32x4.shuffle(s32, s32, 1, 1, 1, 1)));
    isum = i32x4.add(isum, i32x4.mul(dot16(l2, q + 128), i32x4.shuffle(s32, s32, 2, 2, 2, 2)));
    isum = i32x4.add(isum, i32x4.mul(dot16(l3, q + 192), i32x4.shuffle(s32, s32, 3, 3, 3, 3)));
    sc = i32x4.shuffle(sc, sc, 1, 2, 3, 0);
  }
  // -32 * sum_g scale_g * bsum_g: the i8 scales widened against the i16 group sums.
  const offset = i32x4.add(i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(raw), v128.load(bs)), i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(raw), v128.load(bs, 16)));
  return i32x4.sub(isum, i32x4.shl(offset, 5));
}

/** sum over groups of min(g) * bsum(g) (Q2_K: 16 groups; Q4_K/Q5_K: pairs share a min). */
@inline function kBlockMins(fmt: i32, b: usize, bs: usize): i32 {
  let imin: i32 = 0;
  for (let g = 0; g < 16; g += 2) {
    const s0 = <i32>load<i16>(bs + (<usize>g << 1));
    const s1 = <i32>load<i16>(bs + (<usize>g << 1), 2);
    if (fmt == Q2_K) imin += min256(fmt, b, g) * s0 + min256(fmt, b, g + 1) * s1;
    else imin += min256(fmt, b, g) * (s0 + s1);
  }
  return imin;
}

/** Activation row: i16 q[cols] | f32 d[nb] | i16 bsum[cols/16]. */
@inline export function mv256(fmt: i32, w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, y: usize, cols: i32): void {
  const nb = cols >> 8;
  const ad = a + (<usize>cols << 1);
  const asum = ad + (<usize>nb << 2);
  const a8 = asum + (<usize>(cols >> 4) << 1);
  const bytes = blockBytes256(fmt);
  for (let r = r0; r < r1; r++) {
    let b = w + <usize>r * rowBytes;
    let acc = f32x4.splat(0);
    let accMin: f32 = 0;
    let accMinV = f32x4.splat(0);
    for (let i = 0; i < nb; i++) {
      const ap = a + (<usize>i << 9);
      const a8i = a8 + (<usize>i << 8);
      const bs = asum + (<usize>i << 5);
      const dy = load<f32>(ad + (<usize>i << 2));
      if (fmt == Q4_K || fmt == Q5_K) {
        const sm = q4_kScalesMins(b);
        acc = madd(f32x4.convert_i32x4_s(fmt == Q4_K ? q4kLoopBlockDot(b, ap, a8i, sm) : kPairBlockDot(fmt, b, ap, a8i, sm)), f32x4.splat(d256(fmt, b) * dy), acc);
        accMinV = madd(f32x4.convert_i32x4_s(kPairMins(sm, bs)), f32x4.splat(dmin256(fmt, b) * dy), accMinV);
      } else {
        const isum = fmt == Q6_K ? (ASC_FEATURE_RELAXED_SIMD ? q6RelaxedBlockDot(b, a8i, bs) : q6LoopBlockDot(b, ap, bs)) : kBlockDot(fmt, b, ap, a8i, bs);
        acc = madd(f32x4.convert_i32x4_s(isum), f32x4.splat(d256(fmt, b) * dy), acc);
        if (hasMin256(fmt)) accMin += dmin256(fmt, b) * dy * <f32>kBlockMins(fmt, b, bs);
      }
      b += bytes;
    }
    store<f32>(y + (<usize>r << 2), hsum(acc) - accMin - hsum(accMinV));
  }
}

/** 16 signed i8 weights times an i16 scale, stored as 16 i16 at p (decode256). */
@inline function storeScaled16(p: usize, w: v128, scale: v128): void {
  v128.store(p, i16x8.mul(i16x8.extend_low_i8x16_s(w), scale));
  v128.store(p, i16x8.mul(i16x8.extend_high_i8x16_s(w), scale), 16);
}

/**
 * Decoded row: i16 (q * scale)[cols] | i16 min[cols/16] | f32 d[nb] | f32 dmin[nb]. Folding the
 * integer group scale into the weights is exact (|q * scale| <= 4096 fits i16, and a 256-weight
 * dot with Q8_K activations stays far inside i32), and leaves a plain dot product per row pair.
 */
@inline function decode256(fmt: i32, b: usize, cols: i32, out: usize): void {
  const nb = cols >> 8;
  const ng = cols >> 4;
  const mnOut = out + (<usize>cols << 1);
  const dOut = mnOut + (<usize>ng << 1);
  const dmOut = dOut + (<usize>nb << 2);
  const bytes = blockBytes256(fmt);
  for (let i = 0; i < nb; i++) {
    if (fmt == Q4_K) {
      // Scales and mins of all eight sub-blocks from one q4_kScalesMins; each 32 quant bytes loaded
      // once for their two sub-blocks (scales rotated per pair, as in q4kLoopBlockDot).
      const sm = q4_kScalesMins(b);
      const mn = i8x16.shuffle(sm, sm, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
      const go = <usize>i << 5;
      v128.store(mnOut + go, i16x8.extend_low_i8x16_u(mn));
      v128.store(mnOut + go, i16x8.extend_high_i8x16_u(mn), 16);
      let sc = i16x8.extend_low_i8x16_u(sm);
      for (let j = 0; j < 4; j++) {
        const q0 = v128.load(b + 16 + (<usize>j << 5));
        const q1 = v128.load(b + 16 + (<usize>j << 5), 16);
        const s0 = broadcast16(sc, 0);
        const s1 = broadcast16(sc, 1);
        const o = out + (<usize>i << 9) + (<usize>j << 7);
        const lo0 = lowNibbles(q0);
        const lo1 = lowNibbles(q1);
        const hi0 = highNibbles(q0);
        const hi1 = highNibbles(q1);
        v128.store(o, i16x8.mul(i16x8.extend_low_i8x16_u(lo0), s0));
        v128.store(o, i16x8.mul(i16x8.extend_high_i8x16_u(lo0), s0), 16);
        v128.store(o, i16x8.mul(i16x8.extend_low_i8x16_u(lo1), s0), 32);
        v128.store(o, i16x8.mul(i16x8.extend_high_i8x16_u(lo1), s0), 48);
        v128.store(o, i16x8.mul(i16x8.extend_low_i8x16_u(hi0), s1), 64);
        v128.store(o, i16x8.mul(i16x8.extend_high_i8x16_u(hi0), s1), 80);
        v128.store(o, i16x8.mul(i16x8.extend_low_i8x16_u(hi1), s1), 96);
        v128.store(o, i16x8.mul(i16x8.extend_high_i8x16_u(hi1), s1), 112);
        sc = i32x4.shuffle(sc, sc, 1, 2, 3, 0);
      }
      store<f32>(dOut + (<usize>i << 2), d256(fmt, b));
      store<f32>(dmOut + (<usize>i << 2), dmin256(fmt, b));
      b += bytes;
      continue;
    }
    if (fmt == Q6_K) {
      // The levels a quad at a time (as in q6LoopBlockDot, scales in loop order and rotated).
      const raw = q6_kScales(b);
      let sc = i8x16.shuffle(raw, raw, 0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15);
      const go = <usize>i << 5;
      v128.store(mnOut + go, i16x8.splat(0));
      v128.store(mnOut + go, i16x8.splat(0), 16);
      const offset = i8x16.splat(<i8>Q6_K_OFFSET);
      for (let t = 0; t < 4; t++) {
        const n = <usize>(t >> 1);
        const part = <usize>(t & 1) << 4;
        const ql0 = v128.load(b + (n << 6) + part);
        const ql1 = v128.load(b + (n << 6) + 32 + part);
        const qh = v128.load(b + 128 + (n << 5) + part);
        const s16 = i16x8.extend_low_i8x16_s(sc);
        // Group 8n + p + 2k starts at weight 128n + 16p + 32k (two bytes each here).
        const o = out + (<usize>i << 9) + (n << 8) + (part << 1);
        storeScaled16(o, i8x16.sub(q6_kQuarter(ql0, ql1, qh, 0), offset), broadcast16(s16, 0));
        storeScaled16(o + 64, i8x16.sub(q6_kQuarter(ql0, ql1, qh, 1), offset), broadcast16(s16, 1));
        storeScaled16(o + 128, i8x16.sub(q6_kQuarter(ql0, ql1, qh, 2), offset), broadcast16(s16, 2));
        storeScaled16(o + 192, i8x16.sub(q6_kQuarter(ql0, ql1, qh, 3), offset), broadcast16(s16, 3));
        sc = i32x4.shuffle(sc, sc, 1, 2, 3, 0);
      }
      store<f32>(dOut + (<usize>i << 2), d256(fmt, b));
      store<f32>(dmOut + (<usize>i << 2), 0);
      b += bytes;
      continue;
    }
    for (let g = 0; g < 16; g++) {
      const gi = (i << 4) + g;
      const w = group256(fmt, b, g);
      const sc = i16x8.splat(<i16>scale256(fmt, b, g));
      const p = out + (<usize>gi << 5);
      v128.store(p, i16x8.mul(i16x8.extend_low_i8x16_s(w), sc));
      v128.store(p, i16x8.mul(i16x8.extend_high_i8x16_s(w), sc), 16);
      store<i16>(mnOut + (<usize>gi << 1), <i16>(hasMin256(fmt) ? min256(fmt, b, g) : 0));
    }
    store<f32>(dOut + (<usize>i << 2), d256(fmt, b));
    store<f32>(dmOut + (<usize>i << 2), hasMin256(fmt) ? dmin256(fmt, b) : 0);
    b += bytes;
  }
}

/**
 * Relaxed-SIMD decoded row of the unsigned k-quants (Q2_K..Q6_K): u8 levels[cols] | i16 scale[cols/16]
 * | i16 min[cols/16] (per group; 0 without mins) | f32 d[nb] | f32 dmin[nb]. Smaller than the
 * SIMD128 form (levels stay 8-bit), so the same scratch fits; the group scale is applied after the
 * i8 dot by pmaddwd instead of being folded into the weights.
 */
@inline function decode256Levels(fmt: i32, b: usize, cols: i32, out: usize): void {
  const nb = cols >> 8;
  const ng = cols >> 4;
  const scOut = out + <usize>cols;
  const mnOut = scOut + (<usize>ng << 1);
  const dOut = mnOut + (<usize>ng << 1);
  const dmOut = dOut + (<usize>nb << 2);
  const bytes = blockBytes256(fmt);
  for (let i = 0; i < nb; i++) {
    if (fmt == Q4_K) {
      // All sixteen group scales and mins from one q4_kScalesMins (sub-block s covers groups 2s,
      // 2s+1), instead of two scalar get_scale_min_k4 unpackings per group.
      const sm = q4_kScalesMins(b);
      const sc = i8x16.shuffle(sm, sm, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
      const mn = i8x16.shuffle(sm, sm, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
      const go = <usize>i << 5;
      v128.store(scOut + go, i16x8.extend_low_i8x16_u(sc));
      v128.store(scOut + go, i16x8.extend_high_i8x16_u(sc), 16);
      v128.store(mnOut + go, i16x8.extend_low_i8x16_u(mn));
      v128.store(mnOut + go, i16x8.extend_high_i8x16_u(mn), 16);
      for (let j = 0; j < 4; j++) {
        const q0 = v128.load(b + 16 + (<usize>j << 5));
        const q1 = v128.load(b + 16 + (<usize>j << 5), 16);
        const o = out + (<usize>i << 8) + (<usize>j << 6);
        v128.store(o, lowNibbles(q0));
        v128.store(o, lowNibbles(q1), 16);
        v128.store(o, highNibbles(q0), 32);
        v128.store(o, highNibbles(q1), 48);
      }
      store<f32>(dOut + (<usize>i << 2), d256(fmt, b));
      store<f32>(dmOut + (<usize>i << 2), dmin256(fmt, b));
      b += bytes;
      continue;
    }
    if (fmt == Q6_K) {
      // The i8 group scales widened in two stores (no mins), the levels a quad at a time as in q6Quad.
      const sc = q6_kScales(b);
      const go = <usize>i << 5;
      v128.store(scOut + go, i16x8.extend_low_i8x16_s(sc));
      v128.store(scOut + go, i16x8.extend_high_i8x16_s(sc), 16);
      v128.store(mnOut + go, i16x8.splat(0));
      v128.store(mnOut + go, i16x8.splat(0), 16);
      for (let t = 0; t < 4; t++) {
        const n = <usize>(t >> 1);
        const part = <usize>(t & 1) << 4;
        const ql0 = v128.load(b + (n << 6) + part);
        const ql1 = v128.load(b + (n << 6) + 32 + part);
        const qh = v128.load(b + 128 + (n << 5) + part);
        // Group 8n + p + 2k starts at weight 128n + 16p + 32k.
        const o = out + (<usize>i << 8) + (n << 7) + part;
        v128.store(o, q6_kQuarter(ql0, ql1, qh, 0));
        v128.store(o, q6_kQuarter(ql0, ql1, qh, 1), 32);
        v128.store(o, q6_kQuarter(ql0, ql1, qh, 2), 64);
        v128.store(o, q6_kQuarter(ql0, ql1, qh, 3), 96);
      }
      store<f32>(dOut + (<usize>i << 2), d256(fmt, b));
      store<f32>(dmOut + (<usize>i << 2), 0);
      b += bytes;
      continue;
    }
    for (let g = 0; g < 16; g++) {
      const gi = (i << 4) + g;
      v128.store(out + (<usize>gi << 4), levels256(fmt, b, g));
      store<i16>(scOut + (<usize>gi << 1), <i16>scale256(fmt, b, g));
      store<i16>(mnOut + (<usize>gi << 1), <i16>(hasMin256(fmt) ? min256(fmt, b, g) : 0));
    }
    store<f32>(dOut + (<usize>i << 2), d256(fmt, b));
    store<f32>(dmOut + (<usize>i << 2), hasMin256(fmt) ? dmin256(fmt, b) : 0);
    b += bytes;
  }
}

/** isum + scale . (i8 activations x levels) for one group of 16 and one activation row. */
@inline function groupTerm(isum: v128, a8: usize, levels: v128, scale: v128): v128 {
  return i32x4.add(isum, i32x4.dot_i16x8_s(relaxedPairs(v128.load(a8), levels), scale));
}

/** -shift-scaled sum_g scale_g * bsum_g (the level offset of Q3_K/Q6_K) or sum_g min_g * bsum_g, as four i32 lanes. */
@inline function groupSums(perGroup: usize, bs: usize): v128 {
  return i32x4.add(i32x4.dot_i16x8_s(v128.load(perGroup), v128.load(bs)), i32x4.dot_i16x8_s(v128.load(perGroup, 16), v128.load(bs, 16)));
}

/**
 * A relaxed-SIMD decoded row (decode256Levels) times n Q8_K activation rows, four per pass: each
 * group's levels and scale are loaded once for the four rows, each row costs one pmaddubsw, one
 * pmaddwd and one add per 16 weights (the SIMD128 path needs two of each plus twice the loads).
 */
@inline function levelRows256(dw: usize, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, withMin: bool, offsetShift: i32, pairedScales: bool): void {
  const nb = cols >> 8;
  const ng = cols >> 4;
  const scl = dw + <usize>cols;
  const mns = scl + (<usize>ng << 1);
  const dd = mns + (<usize>ng << 1);
  const dm = dd + (<usize>nb << 2);
  const actD = <usize>cols << 1;
  const actBs = actD + (<usize>nb << 2);
  const actQ8 = actBs + (<usize>ng << 1);
  for (let i = 0; i < n; i += 4) {
    const a0 = rowAt(a, aStride, i, 0, n);
    const a1 = rowAt(a, aStride, i, 1, n);
    const a2 = rowAt(a, aStride, i, 2, n);
    const a3 = rowAt(a, aStride, i, 3, n);
    let acc = f32x4.splat(0);
    for (let b = 0; b < nb; b++) {
      let s0 = i32x4.splat(0);
      let s1 = i32x4.splat(0);
      let s2 = i32x4.splat(0);
      let s3 = i32x4.splat(0);
      // One induction variable for the whole block: weight k's level is at dw + k, its activation at
      // row + actQ8 + k and its group scale at scl + k / 8 (fewer live addresses for V8 to keep).
      const kEnd = (<usize>b << 8) + 256;
      for (let k = <usize>b << 8; k < kEnd; k += 32) {
        const l0 = v128.load(dw + k);
        const l1 = v128.load(dw + k, 16);
        const o = actQ8 + k;
        if (pairedScales) {
          // Q4_K/Q5_K: groups 2k, 2k+1 share a scale and levels are <= 31, so their i16 pair sums
          // add without overflow and one pmaddwd applies the scale to both.
          const scale = v128.load16_splat(scl + (k >> 3));
          s0 = i32x4.add(s0, i32x4.dot_i16x8_s(relaxedPairs32(v128.load(a0 + o), l0, v128.load(a0 + o, 16), l1), scale));
          s1 = i32x4.add(s1, i32x4.dot_i16x8_s(relaxedPairs32(v128.load(a1 + o), l0, v128.load(a1 + o, 16), l1), scale));
          s2 = i32x4.add(s2, i32x4.dot_i16x8_s(relaxedPairs32(v128.load(a2 + o), l0, v128.load(a2 + o, 16), l1), scale));
          s3 = i32x4.add(s3, i32x4.dot_i16x8_s(relaxedPairs32(v128.load(a3 + o), l0, v128.load(a3 + o, 16), l1), scale));
        } else {
          const sc0 = v128.load16_splat(scl + (k >> 3));
          const sc1 = v128.load16_splat(scl + (k >> 3), 2);
          s0 = groupTerm(groupTerm(s0, a0 + o, l0, sc0), a0 + o + 16, l1, sc1);
          s1 = groupTerm(groupTerm(s1, a1 + o, l0, sc0), a1 + o + 16, l1, sc1);
          s2 = groupTerm(groupTerm(s2, a2 + o, l0, sc0), a2 + o + 16, l1, sc1);
          s3 = groupTerm(groupTerm(s3, a3 + o, l0, sc0), a3 + o + 16, l1, sc1);
        }
      }
      const go = <usize>b << 5;
      const bs = actBs + go;
      if (offsetShift != 0) {
        s0 = i32x4.sub(s0, i32x4.shl(groupSums(scl + go, a0 + bs), offsetShift));
        s1 = i32x4.sub(s1, i32x4.shl(groupSums(scl + go, a1 + bs), offsetShift));
        s2 = i32x4.sub(s2, i32x4.shl(groupSums(scl + go, a2 + bs), offsetShift));
        s3 = i32x4.sub(s3, i32x4.shl(groupSums(scl + go, a3 + bs), offsetShift));
      }
      const bo = <usize>b << 2;
      // The four rows' dots reduced into one vector (lane j = row i + j): the block's float scales
      // then cost one vector operation for all four rows, and one float accumulator instead of four
      // leaves V8 enough registers to keep s0..s3 out of the stack in the loop above.
      let dy = f32x4.splat(load<f32>(a0 + actD + bo));
      dy = f32x4.replace_lane(dy, 1, load<f32>(a1 + actD + bo));
      dy = f32x4.replace_lane(dy, 2, load<f32>(a2 + actD + bo));
      dy = f32x4.replace_lane(dy, 3, load<f32>(a3 + actD + bo));
      acc = madd(f32x4.convert_i32x4_s(laneSums4(s0, s1, s2, s3)), f32x4.mul(dy, f32x4.splat(load<f32>(dd + bo))), acc);
      if (withMin) {
        const m = laneSums4(groupSums(mns + go, a0 + bs), groupSums(mns + go, a1 + bs), groupSums(mns + go, a2 + bs), groupSums(mns + go, a3 + bs));
        acc = madd(f32x4.convert_i32x4_s(m), f32x4.mul(dy, f32x4.splat(-load<f32>(dm + bo))), acc);
      }
    }
    storeRows(y, yStride, i, n, f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1), f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3));
  }
}

/** log2 of the level offset the relaxed k-quant path takes off through the group sums (0: none). */
@inline function offsetShift256(fmt: i32): i32 {
  if (fmt == Q3_K) return 2;
  if (fmt == Q6_K) return 5;
  return 0;
}

@inline export function mm256(
  fmt: i32, w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32,
  y: usize, yStride: usize, cols: i32, scratch: usize,
): void {
  for (let r = r0; r < r1; r++) {
    if (ASC_FEATURE_RELAXED_SIMD && unsigned256(fmt)) {
      decode256Levels(fmt, w + <usize>r * rowBytes, cols, scratch);
      levelRows256(scratch, a, aStride, n, y + (<usize>r << 2), yStride, cols, hasMin256(fmt), offsetShift256(fmt), fmt == Q4_K || fmt == Q5_K);
    } else {
      decode256(fmt, w + <usize>r * rowBytes, cols, scratch);
      rows256(scratch, a, aStride, n, y + (<usize>r << 2), yStride, cols, hasMin256(fmt));
    }
  }
}

// ---------------------------------------------------------------- float weights (F32 / F16 / BF16)

@inline function lanesF(fmt: i32, p: usize, e: usize, high: bool): v128 {
  if (fmt == F32) return f32Lanes(p, e, high);
  if (fmt == F16) return f16Lanes(p, e, high);
  return bf16Lanes(p, e, high);
}

@inline function scalarF(fmt: i32, p: usize, j: usize): f32 {
  if (fmt == F32) return f32Scalar(p, j);
  if (fmt == F16) return f16Scalar(p, j);
  return bf16Scalar(p, j);
}

/** Activation row: f32 x[cols], already rounded to the weight's float type. */
@inline export function mvF(fmt: i32, w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, y: usize, cols: i32): void {
  const n8 = <usize>(cols >> 3);
  for (let r = r0; r < r1; r++) {
    const p = w + <usize>r * rowBytes;
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    for (let e: usize = 0; e < n8; e++) {
      const ap = a + (e << 5);
      acc0 = madd(lanesF(fmt, p, e, false), v128.load(ap), acc0);
      acc1 = madd(lanesF(fmt, p, e, true), v128.load(ap, 16), acc1);
    }
    let tail: f32 = 0;
    for (let j = n8 << 3; j < <usize>cols; j++) tail += scalarF(fmt, p, j) * load<f32>(a + (j << 2));
    store<f32>(y + (<usize>r << 2), hsum(f32x4.add(acc0, acc1)) + tail);
  }
}

/** f32 weight row times n activation rows, two at a time. */
function rowsF(dw: usize, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32): void {
  const n4 = <usize>(cols >> 2);
  for (let i = 0; i < n; i += 2) {
    const a0 = a + <usize>i * aStride;
    const a1 = i + 1 < n ? a0 + aStride : a0;
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    for (let e: usize = 0; e < n4; e++) {
      const o = e << 4;
      const wv = v128.load(dw + o);
      acc0 = madd(wv, v128.load(a0 + o), acc0);
      acc1 = madd(wv, v128.load(a1 + o), acc1);
    }
    let t0: f32 = 0;
    let t1: f32 = 0;
    for (let j = n4 << 2; j < <usize>cols; j++) {
      const wj = load<f32>(dw + (j << 2));
      t0 += wj * load<f32>(a0 + (j << 2));
      t1 += wj * load<f32>(a1 + (j << 2));
    }
    store<f32>(y + <usize>i * yStride, hsum(acc0) + t0);
    if (i + 1 < n) store<f32>(y + <usize>(i + 1) * yStride, hsum(acc1) + t1);
  }
}

@inline export function mmF(
  fmt: i32, w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32,
  y: usize, yStride: usize, cols: i32, scratch: usize,
): void {
  const n8 = <usize>(cols >> 3);
  for (let r = r0; r < r1; r++) {
    const p = w + <usize>r * rowBytes;
    let row = p;
    if (fmt != F32) {
      for (let e: usize = 0; e < n8; e++) {
        v128.store(scratch + (e << 5), lanesF(fmt, p, e, false));
        v128.store(scratch + (e << 5), lanesF(fmt, p, e, true), 16);
      }
      for (let j = n8 << 3; j < <usize>cols; j++) store<f32>(scratch + (j << 2), scalarF(fmt, p, j));
      row = scratch;
    }
    rowsF(row, a, aStride, n, y + (<usize>r << 2), yStride, cols);
  }
}
