// Element-wise operations of the forward pass that run in kernel memory on the calling thread,
// in float32 SIMD lanes with the vectorised exponential (common.ts expf4), as ggml's CPU backend
// computes them with ggml_v_expf. Only SIMD128 operations: the relaxed build computes the same bits.
import { expf4 } from './common';

/**
 * In place over `count` float32 at `gate`: gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g))
 * (SwiGLU), each step rounded to float32.
 */
export function swiglu_f32(gate: usize, up: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    v128.store(gate + o, siluTimes(v128.load(gate + o), v128.load(up + o)));
  }
  // The last count % 4 values, one lane each, with the same vector arithmetic.
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(gate + o, f32x4.extract_lane(siluTimes(f32x4.splat(load<f32>(gate + o)), f32x4.splat(load<f32>(up + o))), 0));
  }
}

/** g / (1 + exp(-g)) * u per lane. */
@inline function siluTimes(g: v128, u: v128): v128 {
  return f32x4.mul(f32x4.div(g, f32x4.add(f32x4.splat(1), expf4(f32x4.neg(g)))), u);
}
