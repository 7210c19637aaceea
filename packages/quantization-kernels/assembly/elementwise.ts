// Element-wise operations of the forward pass that run in kernel memory on the calling thread,
// in float32 SIMD lanes with the vectorised exponential (common.ts expf4), as ggml's CPU backend
// computes them with ggml_v_expf. Only SIMD128 operations: the relaxed build computes the same bits.
import { expf4 } from './common';

/**
 * In place over `count` float32 at `gate`: gate[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g))
 * (SwiGLU), each step rounded to float32.
 */
export function swiglu_f32(gate: usize, up: usize, count: i32): void {
  const one = f32x4.splat(1);
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(gate + o);
    v128.store(gate + o, f32x4.mul(f32x4.div(g, f32x4.add(one, expf4(f32x4.sub(zero, g)))), v128.load(up + o)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const g = f32x4.splat(load<f32>(gate + o));
    store<f32>(gate + o, f32x4.extract_lane(f32x4.div(g, f32x4.add(one, expf4(f32x4.sub(zero, g)))), 0) * load<f32>(up + o));
  }
}
