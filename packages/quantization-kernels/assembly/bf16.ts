// BF16, 2 bytes per weight (top half of an f32). Activations: rounded to BF16.
import { bf16x4 } from './common';

@inline export function bf16Lanes(p: usize, e: usize, high: bool): v128 {
  return bf16x4(v128.load(p + (e << 4)), high);
}

@inline export function bf16Scalar(p: usize, j: usize): f32 {
  return reinterpret<f32>(<u32>load<u16>(p + (j << 1)) << 16);
}
