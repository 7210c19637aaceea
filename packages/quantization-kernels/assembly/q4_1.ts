// Q4_1, 20 bytes per 32 weights: d:fp16 | m:fp16 | qs[16]; nibbles as Q4_0; x = d * q + m.
// Activations: Q8_1 (its s = d * sum q carries the m term).
import { f16s, highNibbles, lowNibbles } from './common';

export const Q4_1_BLOCK_BYTES: usize = 20;

@inline export function q4_1Group(b: usize, g: i32): v128 {
  const q = v128.load(b + 4);
  return g == 0 ? lowNibbles(q) : highNibbles(q);
}

@inline export function q4_1Scale(b: usize): f32 {
  return f16s(load<u16>(b));
}

@inline export function q4_1Min(b: usize): f32 {
  return f16s(load<u16>(b + 2));
}
