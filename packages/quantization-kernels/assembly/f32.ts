// F32, 4 bytes per weight. Activations: F32 (unchanged).

/** Weights 8e .. 8e+7 from `p` (the row start) as two f32x4 (lo when high = false). */
@inline export function f32Lanes(p: usize, e: usize, high: bool): v128 {
  return v128.load(p + (e << 5) + (high ? 16 : 0));
}

@inline export function f32Scalar(p: usize, j: usize): f32 {
  return load<f32>(p + (j << 2));
}
