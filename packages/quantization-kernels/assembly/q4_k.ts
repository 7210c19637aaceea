// Q4_K, 144 bytes per 256 weights: d:fp16 | dmin:fp16 | scales[12] | qs[128]. Eight sub-blocks of
// 32 with 6-bit scale and min (get_scale_min_k4 packing); sub-block s uses the low (s even) or
// high (s odd) nibbles of qs[32*(s>>1) ..+32]; x = d*sc*q - dmin*m. Activations: Q8_K.
import { f16s, highNibbles, lowNibbles } from './common';

export const Q4_K_BLOCK_BYTES: usize = 144;

@inline export function q4_kGroup(b: usize, g: i32): v128 {
  const s = g >> 1;
  const q = v128.load(b + 16 + (<usize>(s >> 1) << 5) + (<usize>(g & 1) << 4));
  return (s & 1) == 0 ? lowNibbles(q) : highNibbles(q);
}

/** ggml's get_scale_min_k4: 6-bit scale (min = false) or min (min = true) of sub-block s. */
@inline export function kScaleMin(q: usize, s: i32, min: bool): i32 {
  if (s < 4) return load<u8>(q + <usize>(s + (min ? 4 : 0))) & 63;
  const hi = load<u8>(q + <usize>(s + 4));
  const top = load<u8>(q + <usize>(s - (min ? 0 : 4))) >> 6;
  return (min ? hi >> 4 : hi & 0xf) | (top << 4);
}

@inline export function q4_kScale(b: usize, g: i32): i32 {
  return kScaleMin(b + 4, g >> 1, false);
}

@inline export function q4_kMin(b: usize, g: i32): i32 {
  return kScaleMin(b + 4, g >> 1, true);
}

@inline export function q4_kD(b: usize): f32 {
  return f16s(load<u16>(b));
}

@inline export function q4_kDmin(b: usize): f32 {
  return f16s(load<u16>(b + 2));
}

/**
 * All eight 6-bit scales (bytes 0..7) and mins (bytes 8..15) of a Q4_K/Q5_K block at once, from
 * the 12 packed bytes at b + 4 (ggml's utmp unpacking in its AVX2/wasm kernels), instead of eight
 * kScaleMin calls each.
 */
@inline export function q4_kScalesMins(b: usize): v128 {
  const u0 = load<u32>(b + 4);
  const u1 = load<u32>(b + 8);
  const u2 = load<u32>(b + 12);
  const low6: u32 = 0x3f3f3f3f;
  const low4: u32 = 0x0f0f0f0f;
  const low2: u32 = 0x03030303;
  // Assembled as two 64-bit halves in scalar registers: one movq + shuffle and one pinsrq, where
  // four 32-bit lanes cost a splat and three pinsrd (two uops each on x64).
  const scales = <u64>(u0 & low6) | (<u64>((u2 & low4) | (((u0 >> 6) & low2) << 4)) << 32);
  const mins = <u64>(u1 & low6) | (<u64>(((u2 >> 4) & low4) | (((u1 >> 6) & low2) << 4)) << 32);
  return i64x2.replace_lane(i64x2.splat(<i64>scales), 1, <i64>mins);
}
