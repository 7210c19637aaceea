// Shared helpers for every kernel file: fp16 conversion, the integer dot of 16 weights against 16
// pre-widened activations, horizontal sums, and the relaxed-SIMD switch (compiled twice: once for
// plain SIMD128, once with relaxed SIMD, where `madd` becomes a fused multiply-add).

/** fp16 bits -> f32, exact for every finite value, inf and NaN (ggml's GGML_FP16_TO_FP32). */
@inline export function f16(h: u32): f32 {
  const em = h & 0x7fff;
  // Shifting the exponent+mantissa into f32 position and multiplying by 2^112 re-biases the exponent
  // and handles subnormals exactly; exponent 31 (inf/NaN) needs the f32 exponent forced to all ones.
  let bits = reinterpret<u32>(reinterpret<f32>(em << 13) * 5.192296858534828e33);
  bits = em >= 0x7c00 ? (0x7f800000 | (em << 13)) : bits;
  return reinterpret<f32>(bits | ((h & 0x8000) << 16));
}

/**
 * fp16 -> f32 lookup table (64 Ki entries, 256 KiB) right above the module's static data, filled
 * once per memory by fill_f16_table. Converting a block scale by table is one load; the bit
 * arithmetic of `f16` costs about as much as the rest of a Q4_0 block.
 */
export const F16_TABLE: usize = (__heap_base + 63) & ~(<usize>63);
export const F16_TABLE_END: usize = F16_TABLE + (<usize>65536 << 2);

/** A block scale (fp16 bits) as f32, by table. */
@inline export function f16s(h: u32): f32 {
  return load<f32>(F16_TABLE + (<usize>h << 2));
}

/** Fills the fp16 table of the memory this instance runs on (the host calls it once per memory). */
export function fill_f16_table(): void {
  for (let h: u32 = 0; h < 65536; h++) store<f32>(F16_TABLE + (<usize>h << 2), f16(h));
}

/** f32 -> fp16 bits, round to nearest even, as ggml's GGML_FP32_TO_FP16 (F16C / portable versions agree). */
export function f32ToF16(f: f32): u32 {
  const w = reinterpret<u32>(f);
  const shl1 = w << 1;
  const sign = w & 0x80000000;
  // Scale into the half range so the FPU does the rounding, then rebuild the bits.
  let base: f32 = (Mathf.abs(f) * reinterpret<f32>(0x77800000)) * reinterpret<f32>(0x08800000);
  let bias = shl1 & 0xff000000;
  if (bias < 0x71000000) bias = 0x71000000;
  base = reinterpret<f32>((bias >> 1) + 0x07800000) + base;
  const bits = reinterpret<u32>(base);
  const nonsign = ((bits >> 13) & 0x00007c00) + (bits & 0x00000fff);
  return (sign >> 16) | (shl1 > 0xff000000 ? 0x7e00 : nonsign);
}

/**
 * Eight fp16 values (the low or high four, by `high`) -> f32x4, exact like `f16`, but with no
 * arithmetic on subnormal floats (x86 takes a slow assist for each one): normal halves are
 * re-biased with an integer add, subnormal ones converted from their integer mantissa.
 */
@inline export function f16x4(h8: v128, high: bool): v128 {
  // Interleaving with zero puts each half in the top 16 bits of its lane: the sign is already at
  // bit 31, and exponent+mantissa shifted right by 3 land at f32 bits 13..27.
  const zero = i32x4.splat(0);
  const bits = high ? i16x8.shuffle(zero, h8, 0, 12, 1, 13, 2, 14, 3, 15) : i16x8.shuffle(zero, h8, 0, 8, 1, 9, 2, 10, 3, 11);
  const em = i32x4.shr_u(v128.and(bits, i32x4.splat(0x7fff0000)), 3);
  // Normal: add (127 - 15) << 23 to the exponent; exponent 31 (inf/NaN) also gets all ones.
  let mag = i32x4.add(em, i32x4.splat(0x38000000));
  mag = v128.or(mag, v128.and(i32x4.gt_s(em, i32x4.splat(0x0f7fffff)), i32x4.splat(0x7f800000)));
  // Subnormal (and zero): mantissa * 2^-24, computed from the integer.
  const sub = f32x4.mul(f32x4.convert_i32x4_s(i32x4.shr_u(em, 13)), f32x4.splat(5.960464477539063e-8));
  mag = v128.bitselect(sub, mag, i32x4.lt_s(em, i32x4.splat(0x00800000)));
  return v128.or(mag, v128.and(bits, i32x4.splat(0x80000000)));
}

/** bf16 -> f32 for four lanes of eight (low or high half). */
@inline export function bf16x4(h8: v128, high: bool): v128 {
  const h = high ? i32x4.extend_high_i16x8_u(h8) : i32x4.extend_low_i16x8_u(h8);
  return i32x4.shl(h, 16);
}

/** a * b + c; fused (one rounding) on the relaxed-SIMD build. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * acc + (i8 activations . unsigned 7-bit levels) as four i32 partial sums (relaxed-SIMD build only;
 * deterministic because every level is < 128 and no pair sum leaves i16). The FUSED_DOT build (see
 * scripts/build-wasm.mjs) writes it as i32x4.relaxed_dot_i8x16_i7x16_add_s, which V8 12+ lowers to
 * one vpdpbusd on AVX-VNNI CPUs; the other relaxed build as i16x8.relaxed_dot + extadd (pmaddubsw,
 * pmaddwd, paddd), because Node 20's V8 (behind --experimental-wasm-relaxed-simd) gets the fused
 * form wrong (its baseline tier drops the accumulator and doubles the dot product). Lane j is the
 * sum of products 4j .. 4j+3 either way, so both builds give the same integers.
 */
@inline export function relaxedDot(a8: v128, levels: v128, acc: v128): v128 {
  if (FUSED_DOT) return i32x4.relaxed_dot_i8x16_i7x16_add_s(a8, levels, acc);
  return i32x4.add(acc, i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(a8, levels)));
}

/**
 * The dot of 32 i8 activations (x0 | x1) with 32 unsigned levels (l0 | l1) as four i32 partial sums,
 * lane j = products 4j .. 4j+3 of both halves (relaxed-SIMD build only): two vpdpbusd in the
 * FUSED_DOT build, else the i16 pair sums of both halves added before one widening (exact while a
 * lane of the sum stays inside i16: 4 * 127 * 63 for 6-bit levels).
 */
@inline export function relaxedDot32(x0: v128, l0: v128, x1: v128, l1: v128): v128 {
  if (FUSED_DOT) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x1, l1, i32x4.relaxed_dot_i8x16_i7x16_add_s(x0, l0, i32x4.splat(0)));
  return i32x4.extadd_pairwise_i16x8_s(relaxedPairs32(x0, l0, x1, l1));
}

/** The i16 pair sums of both halves of a 32-weight dot, added (relaxedDot32's split form before widening). */
@inline export function relaxedPairs32(x0: v128, l0: v128, x1: v128, l1: v128): v128 {
  return i16x8.add(relaxedPairs(x0, l0), relaxedPairs(x1, l1));
}

/** Sum of the four f32 lanes. */
@inline export function hsum(v: v128): f32 {
  const s = f32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}

/** Sum of the four i32 lanes. */
@inline export function hsumI(v: v128): i32 {
  const s = i32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1);
}

/** Integer dot of 16 i8 weights with 16 activations stored as i16 at `ap`: four i32 partial sums. */
@inline export function dot16(w: v128, ap: usize): v128 {
  return i32x4.add(
    i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w), v128.load(ap)),
    i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w), v128.load(ap, 16)),
  );
}

/** Store 16 i8 weights widened to i16 at `p` (the decoded-row form used by matMul). */
@inline export function store16(p: usize, w: v128): void {
  v128.store(p, i16x8.extend_low_i8x16_s(w));
  v128.store(p, i16x8.extend_high_i8x16_s(w), 16);
}

/**
 * Vector constants of the hot loops as static data, for the SPLATS_IN_MEMORY build (see
 * scripts/build-wasm.mjs): V8 12+ (Node 22+, Chromium) builds a v128.const anew at every use inside a
 * loop (movq, vmovq, vpunpcklqdq), where a load is one instruction or a memory operand. Node 20's V8
 * hoists the constants into registers, so its build keeps them as v128.const. Rows of 16 bytes:
 * 1 << k for k = 0..7, then 0x0f, 0x03, 0x30, the bitsToBytes spread pattern and its bit masks.
 */
const VECTOR_CONSTANTS: usize = memory.data<u8>([
  0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
  0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02,
  0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
  0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08,
  0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
  0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
  0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
  0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
  0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03,
  0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
  0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80,
], 16);
const ROW_0F: usize = 8;
const ROW_03: usize = 9;
const ROW_30: usize = 10;
const ROW_SPREAD: usize = 11;
const ROW_BIT_MASKS: usize = 12;

@inline function constantRow(row: usize): v128 {
  return v128.load(VECTOR_CONSTANTS + (row << 4));
}

/** `value` (a constant) in all 16 bytes: from the constants' rows where it has one (SPLATS_IN_MEMORY). */
@inline export function splatBytes(value: i8): v128 {
  if (SPLATS_IN_MEMORY) {
    const v = <i32>value & 0xff;
    if (v == 0x0f) return constantRow(ROW_0F);
    if (v == 0x03) return constantRow(ROW_03);
    if (v == 0x30) return constantRow(ROW_30);
    if (v != 0 && (v & (v - 1)) == 0) return constantRow(<usize>ctz(v));
  }
  return i8x16.splat(value);
}

/** Low nibbles of 16 bytes. */
@inline export function lowNibbles(q: v128): v128 {
  return v128.and(q, splatBytes(0x0f));
}

/** High nibbles of 16 bytes (a 16-bit shift and a mask: x64 has no byte shift, V8 emulates i8x16.shr_u). */
@inline export function highNibbles(q: v128): v128 {
  return v128.and(i16x8.shr_u(q, 4), splatBytes(0x0f));
}

/**
 * i16 pair sums of 16 i8 activations times 16 unsigned 7-bit levels (relaxed-SIMD build only; one
 * pmaddubsw on x64). Exact while |a0 * l0 + a1 * l1| stays inside i16: 2 * 127 * 63 for 6-bit levels.
 */
@inline export function relaxedPairs(a8: v128, levels: v128): v128 {
  return i16x8.relaxed_dot_i8x16_i7x16_s(a8, levels);
}

/** Lane l (0..7, constant after unrolling) of an i16x8 in all eight lanes (one pshufb). */
@inline export function broadcast16(v: v128, l: i32): v128 {
  if (l == 0) return i8x16.shuffle(v, v, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1);
  if (l == 1) return i8x16.shuffle(v, v, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
  if (l == 2) return i8x16.shuffle(v, v, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5, 4, 5);
  if (l == 3) return i8x16.shuffle(v, v, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 7);
  if (l == 4) return i8x16.shuffle(v, v, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9, 8, 9);
  if (l == 5) return i8x16.shuffle(v, v, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11, 10, 11);
  if (l == 6) return i8x16.shuffle(v, v, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13, 12, 13);
  return i8x16.shuffle(v, v, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15);
}

/**
 * One bit per element -> 0 or `value` per byte: bit k of the little-endian u16 at `p` selects byte k.
 * Used by Q5_0/Q5_1/Q5_K/Q3_K for their extra high bit.
 */
@inline export function bitsToBytes(bits16: u32, value: i8): v128 {
  const v = i16x8.splat(<i16>bits16);
  const spread = i8x16.swizzle(v, SPLATS_IN_MEMORY ? constantRow(ROW_SPREAD) : i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const masks = SPLATS_IN_MEMORY ? constantRow(ROW_BIT_MASKS) : i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return v128.and(i8x16.eq(v128.and(spread, masks), masks), splatBytes(value));
}

/** Same, selecting one bit (`shift`) of each of 16 bytes at `p` instead of one bit per element. */
@inline export function byteBitToBytes(q: v128, shift: i32, value: i8): v128 {
  const bit = splatBytes(<i8>(<i32>1 << shift));
  return v128.and(i8x16.eq(v128.and(q, bit), bit), splatBytes(value));
}

/** IQ4_NL / IQ4_XS non-linear 4-bit values (ggml's kvalues_iq4nl). */
@inline export function iq4Table(): v128 {
  return i8x16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
}

/**
 * exp of four float32 lanes: 2^n * p(r) with n = round(x / ln 2), r = x - n ln 2 in two parts
 * (Cody-Waite), p Cephes' degree-7 expf polynomial (within 2 ulp, as ggml_v_expf). x is clamped to
 * [-87.34, 88]: below, exp leaves the normal range and 2^-126 * p (about 1e-38) stands for it; above,
 * the result stays finite (about 1.6e38) instead of overflowing. exp(0) is exactly 1.
 */
@inline export function expf4(x: v128): v128 {
  const clamped = f32x4.min(f32x4.max(x, f32x4.splat(-87.33654)), f32x4.splat(88));
  const n = f32x4.nearest(f32x4.mul(clamped, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(clamped, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2);
}
