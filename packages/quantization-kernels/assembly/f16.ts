// F16, 2 bytes per weight (IEEE half). Activations: rounded to F16 (ggml's vec_dot_f16 partner),
// kept here as the exactly representable f32 values.
import { f16, f16x4 } from './common';

@inline export function f16Lanes(p: usize, e: usize, high: bool): v128 {
  return f16x4(v128.load(p + (e << 4)), high);
}

@inline export function f16Scalar(p: usize, j: usize): f32 {
  return f16(load<u16>(p + (j << 1)));
}
