// Scaled dot-product attention of one query row over cached f32 key/value rows, heads [h0, h1).
// Arithmetic matches the TypeScript path (runtime/src/ops/attention.ts): products of float32 values
// are exact in f64, so dot products and value sums accumulate in f64 lanes (dot products in another
// order than the scalar loop: a difference of ~1e-16 before the float32 rounding); scores, exponentials,
// weights and the 1/sum factor are rounded to float32 where ggml rounds them. Only SIMD128 and f64
// operations: the relaxed build computes the same bits.

/**
 * Query row `q` (headCount * headDim float32), cached rows [first, end): key row t of KV head g at
 * k + t * rowStride + g * headDim * 4 bytes, value row likewise from `v`. Query head h reads KV head
 * h / (headCount / headCountKv). Each score is float32(float32(K.q) * scale), then, when softcap > 0,
 * float32(tanh(score / softcap)) * softcap; softmax subtracts the max, rounds exp to float32 and
 * multiplies by float32(1 / sum). Writes headDim float32 per head at out + h * headDim * 4.
 * `scratch` (16-byte aligned) holds (end - first) float32 scores, then 2 * headDim f64 (query in f64
 * and the value sums).
 */
export function attend_f32(
  q: usize, k: usize, v: usize, rowStride: usize, first: i32, end: i32,
  headCount: i32, headCountKv: i32, headDim: i32, scale: f32, softcap: f32,
  out: usize, scratch: usize, h0: i32, h1: i32,
): void {
  const visible = end - first;
  if (visible <= 0) return;
  const group = headCount / headCountKv;
  const scores = scratch;
  const q64 = scratch + ((<usize>(visible * 4) + 15) & ~<usize>15);
  const acc = q64 + (<usize>headDim << 3);
  const vectorDim = headDim & ~3;
  const headBytes = <usize>headDim << 2;
  const capInverse: f32 = softcap > 0 ? <f32>1 / softcap : 0;
  for (let h = h0; h < h1; h++) {
    const kvOffset = <usize>(h / group) * headBytes;
    const qh = q + <usize>h * headBytes;
    for (let d = 0; d < headDim; d++) store<f64>(q64 + (<usize>d << 3), <f64>load<f32>(qh + (<usize>d << 2)));
    let kRow = k + <usize>first * rowStride + kvOffset;
    let max: f64 = -Infinity;
    for (let t = 0; t < visible; t++, kRow += rowStride) {
      let lo = f64x2.splat(0);
      let hi = f64x2.splat(0);
      let d = 0;
      for (; d < vectorDim; d += 4) {
        const kv = v128.load(kRow + (<usize>d << 2));
        const qp = q64 + (<usize>d << 3);
        lo = f64x2.add(lo, f64x2.mul(v128.load(qp), f64x2.promote_low_f32x4(kv)));
        hi = f64x2.add(hi, f64x2.mul(v128.load(qp, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(kv, kv, 2, 3, 0, 1))));
      }
      const both = f64x2.add(lo, hi);
      let dot = f64x2.extract_lane(both, 0) + f64x2.extract_lane(both, 1);
      for (; d < headDim; d++) dot += load<f64>(q64 + (<usize>d << 3)) * <f64>load<f32>(kRow + (<usize>d << 2));
      let score: f32 = <f32>dot * scale;
      if (softcap > 0) score = <f32>Math.tanh(<f64>(score * capInverse)) * softcap;
      store<f32>(scores + (<usize>t << 2), score);
      if (<f64>score > max) max = <f64>score;
    }
    let sum: f64 = 0;
    for (let t = 0; t < visible; t++) {
      const p = scores + (<usize>t << 2);
      const e = <f32>Math.exp(<f64>load<f32>(p) - max);
      store<f32>(p, e);
      sum += <f64>e;
    }
    const inverse: f32 = <f32>(1 / sum);
    for (let d = 0; d < headDim; d++) store<f64>(acc + (<usize>d << 3), 0);
    let vRow = v + <usize>first * rowStride + kvOffset;
    for (let t = 0; t < visible; t++, vRow += rowStride) {
      const weight = <f64>(load<f32>(scores + (<usize>t << 2)) * inverse);
      const w = f64x2.splat(weight);
      let d = 0;
      for (; d < vectorDim; d += 4) {
        const vv = v128.load(vRow + (<usize>d << 2));
        const ap = acc + (<usize>d << 3);
        v128.store(ap, f64x2.add(v128.load(ap), f64x2.mul(w, f64x2.promote_low_f32x4(vv))));
        v128.store(ap, f64x2.add(v128.load(ap, 16), f64x2.mul(w, f64x2.promote_low_f32x4(v128.shuffle<f32>(vv, vv, 2, 3, 0, 1)))), 16);
      }
      for (; d < headDim; d++) {
        const ap = acc + (<usize>d << 3);
        store<f64>(ap, load<f64>(ap) + weight * <f64>load<f32>(vRow + (<usize>d << 2)));
      }
    }
    const oh = out + <usize>h * headBytes;
    for (let d = 0; d < headDim; d++) store<f32>(oh + (<usize>d << 2), <f32>load<f64>(acc + (<usize>d << 3)));
  }
}
