// Q8_0, 34 bytes per 32 weights: d:fp16 | qs:i8[32]; x = d * q. Activations: Q8_0.
import { f16s } from './common';

export const Q8_0_BLOCK_BYTES: usize = 34;

/** Weights 16g .. 16g+15 of the block at `b` as i8x16. */
@inline export function q8_0Group(b: usize, g: i32): v128 {
  return v128.load(b + 2 + (<usize>g << 4));
}

@inline export function q8_0Scale(b: usize): f32 {
  return f16s(load<u16>(b));
}
