// Q4_0, 18 bytes per 32 weights: d:fp16 | qs[16]; element j is the low nibble of qs[j], element
// j+16 the high nibble; x = d * (q - 8). Activations: Q8_0.
import { f16s, highNibbles, lowNibbles } from './common';

export const Q4_0_BLOCK_BYTES: usize = 18;

/** Unsigned levels 0..15 of weights 16g .. 16g+15; the weight is level - Q4_0_OFFSET. */
@inline export function q4_0Levels(b: usize, g: i32): v128 {
  const q = v128.load(b + 2);
  return g == 0 ? lowNibbles(q) : highNibbles(q);
}

export const Q4_0_OFFSET: i32 = 8;

@inline export function q4_0Scale(b: usize): f32 {
  return f16s(load<u16>(b));
}
