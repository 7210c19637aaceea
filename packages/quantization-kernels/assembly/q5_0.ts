// Q5_0, 22 bytes per 32 weights: d:fp16 | qh:u32 | qs[16]; the 5th bit of element j is bit j of qh
// (little-endian); x = d * ((nibble | hbit << 4) - 16). Activations: Q8_0.
import { bitsToBytes, f16s, highNibbles, lowNibbles } from './common';

export const Q5_0_BLOCK_BYTES: usize = 22;

/** Unsigned levels 0..31; the weight is level - Q5_0_OFFSET. */
@inline export function q5_0Levels(b: usize, g: i32): v128 {
  const q = v128.load(b + 6);
  const hi = bitsToBytes(load<u16>(b + 2 + (<usize>g << 1)), 16);
  return v128.or(g == 0 ? lowNibbles(q) : highNibbles(q), hi);
}

export const Q5_0_OFFSET: i32 = 16;

@inline export function q5_0Scale(b: usize): f32 {
  return f16s(load<u16>(b));
}
