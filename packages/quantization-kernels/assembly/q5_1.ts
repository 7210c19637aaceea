// Q5_1, 24 bytes per 32 weights: d:fp16 | m:fp16 | qh:u32 | qs[16]; 5-bit q as Q5_0 without the
// -16 offset; x = d * q + m. Activations: Q8_1.
import { bitsToBytes, f16s, highNibbles, lowNibbles } from './common';

export const Q5_1_BLOCK_BYTES: usize = 24;

@inline export function q5_1Group(b: usize, g: i32): v128 {
  const q = v128.load(b + 8);
  const hi = bitsToBytes(load<u16>(b + 4 + (<usize>g << 1)), 16);
  return v128.or(g == 0 ? lowNibbles(q) : highNibbles(q), hi);
}

@inline export function q5_1Scale(b: usize): f32 {
  return f16s(load<u16>(b));
}

@inline export function q5_1Min(b: usize): f32 {
  return f16s(load<u16>(b + 2));
}
