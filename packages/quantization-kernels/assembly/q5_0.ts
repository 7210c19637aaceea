// Q5_0, 22 bytes per 32 weights: d:fp16 | qh:u32 | qs[16]; the 5th bit of element j is bit j of qh
// (little-endian); x = d * ((nibble | hbit << 4) - 16). Activations: Q8_0.
import { bitsToBytes, f16s, highNibbles, lowNibbles } from './common';

export const Q5_0_BLOCK_BYTES: usize = 22;

@inline export function q5_0Group(b: usize, g: i32): v128 {
  const q = v128.load(b + 6);
  const hi = bitsToBytes(load<u16>(b + 2 + (<usize>g << 1)), 16);
  return i8x16.sub(v128.or(g == 0 ? lowNibbles(q) : highNibbles(q), hi), i8x16.splat(16));
}

@inline export function q5_0Scale(b: usize): f32 {
  return f16s(load<u16>(b));
}
