// IQ4_XS, 136 bytes per 256 weights: d:fp16 | scales_h:u16 | scales_l[4] | qs[128]. Eight
// sub-blocks of 32, nibbles as IQ4_NL (qs + 16*ib) through kvalues_iq4nl; 6-bit scale
// ls = (scales_l nibble ib) | (2 bits ib of scales_h) << 4; x = d * (ls - 32) * table[q].
// Activations: Q8_K.
import { f16s, highNibbles, iq4Table, lowNibbles } from './common';

export const IQ4_XS_BLOCK_BYTES: usize = 136;

@inline export function iq4_xsGroup(b: usize, g: i32): v128 {
  const q = v128.load(b + 8 + (<usize>(g >> 1) << 4));
  return i8x16.swizzle(iq4Table(), (g & 1) == 0 ? lowNibbles(q) : highNibbles(q));
}

@inline export function iq4_xsScale(b: usize, g: i32): i32 {
  const ib = g >> 1;
  const low = (<i32>load<u8>(b + 4 + <usize>(ib >> 1)) >> ((ib & 1) << 2)) & 0xf;
  const high = (<i32>load<u16>(b + 2) >> (ib << 1)) & 3;
  return (low | (high << 4)) - 32;
}

@inline export function iq4_xsD(b: usize): f32 {
  return f16s(load<u16>(b));
}
