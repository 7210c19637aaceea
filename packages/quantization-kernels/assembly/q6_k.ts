// Q6_K, 210 bytes per 256 weights: ql[128] | qh[64] | scales:i8[16] | d:fp16. Per 128-weight half n
// (ql + 64n, qh + 32n) and quarter k: low 4 bits from ql[32*(k&1) + l] (low nibble for k < 2, high
// otherwise), high 2 bits from qh[l] >> 2k; q = that - 32; group g uses scales[g]; x = d * sc * q.
// Activations: Q8_K.
import { f16s, highNibbles, lowNibbles, splatBytes } from './common';

export const Q6_K_BLOCK_BYTES: usize = 210;

/** Unsigned levels 0..63; the weight is level - Q6_K_OFFSET. */
@inline export function q6_kLevels(b: usize, g: i32): v128 {
  const n = <usize>(g >> 3);
  const k = (g >> 1) & 3;
  const half = <usize>(g & 1) << 4;
  const ql = v128.load(b + (n << 6) + (<usize>(k & 1) << 5) + half);
  const qh = v128.load(b + 128 + (n << 5) + half);
  const high = i8x16.shl(v128.and(i8x16.shr_u(qh, k << 1), splatBytes(3)), 4);
  return v128.or(k < 2 ? lowNibbles(ql) : highNibbles(ql), high);
}

export const Q6_K_OFFSET: i32 = 32;

/**
 * Unsigned levels 0..63 of quarter k (a constant 0..3) of 16 weights, from the 16 ql bytes of each of the
 * two 32-byte ql halves (ql0 at ql + 64n + p, ql1 at 32 bytes on) and their 16 qh bytes: the 2 high bits of
 * quarter k are bits 2k, 2k+1 of qh, moved to bits 4, 5 (16-bit shifts; the bits that cross into the
 * neighbouring byte are masked off). The quad-at-a-time form of q6_kLevels.
 */
@inline export function q6_kQuarter(ql0: v128, ql1: v128, qh: v128, k: i32): v128 {
  const mask = splatBytes(0x30);
  if (k == 0) return v128.or(lowNibbles(ql0), v128.and(i16x8.shl(qh, 4), mask));
  if (k == 1) return v128.or(lowNibbles(ql1), v128.and(i16x8.shl(qh, 2), mask));
  if (k == 2) return v128.or(highNibbles(ql0), v128.and(qh, mask));
  return v128.or(highNibbles(ql1), v128.and(i16x8.shr_u(qh, 2), mask));
}

/** The 16 group scales as one i8x16. */
@inline export function q6_kScales(b: usize): v128 {
  return v128.load(b + 192);
}

@inline export function q6_kScale(b: usize, g: i32): i32 {
  return load<i8>(b + 192 + <usize>g);
}

@inline export function q6_kD(b: usize): f32 {
  return f16s(load<u16>(b + 208));
}
