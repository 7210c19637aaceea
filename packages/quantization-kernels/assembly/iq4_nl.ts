// IQ4_NL, 18 bytes per 32 weights: d:fp16 | qs[16]; nibbles as Q4_0, each indexing the fixed
// non-linear table kvalues_iq4nl; x = d * table[q]. Activations: Q8_0.
import { f16s, highNibbles, iq4Table, lowNibbles } from './common';

export const IQ4_NL_BLOCK_BYTES: usize = 18;

@inline export function iq4_nlGroup(b: usize, g: i32): v128 {
  const q = v128.load(b + 2);
  return i8x16.swizzle(iq4Table(), g == 0 ? lowNibbles(q) : highNibbles(q));
}

@inline export function iq4_nlScale(b: usize): f32 {
  return f16s(load<u16>(b));
}
