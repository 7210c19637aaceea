// Q2_K, 84 bytes per 256 weights: scales[16] | qs[64] | d:fp16 | dmin:fp16. Sixteen groups of 16:
// group g lives in the 128-weight half g>>3 (32 qs bytes each), at bit shift 2*((g>>1)&3), bytes
// 16*(g&1); scales[g] low nibble = scale, high nibble = min; x = d*sc*q - dmin*m. Activations: Q8_K.
import { f16s, splatBytes } from './common';

export const Q2_K_BLOCK_BYTES: usize = 84;

@inline export function q2_kGroup(b: usize, g: i32): v128 {
  const q = v128.load(b + 16 + (<usize>(g >> 3) << 5) + (<usize>(g & 1) << 4));
  return v128.and(i8x16.shr_u(q, ((g >> 1) & 3) << 1), splatBytes(3));
}

@inline export function q2_kScale(b: usize, g: i32): i32 {
  return load<u8>(b + <usize>g) & 0xf;
}

@inline export function q2_kMin(b: usize, g: i32): i32 {
  return load<u8>(b + <usize>g) >> 4;
}

@inline export function q2_kD(b: usize): f32 {
  return f16s(load<u16>(b + 80));
}

@inline export function q2_kDmin(b: usize): f32 {
  return f16s(load<u16>(b + 82));
}
