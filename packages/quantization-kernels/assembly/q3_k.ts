// Q3_K, 110 bytes per 256 weights: hmask[32] | qs[64] | scales[12] | d:fp16. Group g (16 weights):
// 2 low bits from qs half g>>3 at shift 2*((g>>1)&3), bytes 16*(g&1); the high bit is bit
// 4*(g>>3) + ((g>>1)&3) of hmask bytes 16*(g&1); q = low - (high ? 0 : 4). 6-bit scales packed
// in 12 bytes (low nibbles in bytes 0-7, 2-bit highs in bytes 8-11), minus 32; x = d * sc * q.
// Activations: Q8_K.
import { byteBitToBytes, f16s, splatBytes } from './common';

export const Q3_K_BLOCK_BYTES: usize = 110;

/** Unsigned levels 0..7 (low bits | high bit << 2); the weight is level - Q3_K_OFFSET. */
@inline export function q3_kLevels(b: usize, g: i32): v128 {
  const half = <usize>(g & 1) << 4;
  const j = (g >> 1) & 3;
  const q = v128.and(i8x16.shr_u(v128.load(b + 32 + (<usize>(g >> 3) << 5) + half), j << 1), splatBytes(3));
  const high = byteBitToBytes(v128.load(b + half), ((g >> 3) << 2) + j, 4);
  return v128.or(q, high);
}

export const Q3_K_OFFSET: i32 = 4;

@inline export function q3_kScale(b: usize, g: i32): i32 {
  const s = b + 96;
  const low = g < 8 ? <i32>load<u8>(s + <usize>g) & 0xf : <i32>load<u8>(s + <usize>(g - 8)) >> 4;
  const high = (<i32>load<u8>(s + 8 + <usize>(g & 3)) >> ((g >> 2) << 1)) & 3;
  return (low | (high << 4)) - 32;
}

@inline export function q3_kD(b: usize): f32 {
  return f16s(load<u16>(b + 108));
}
