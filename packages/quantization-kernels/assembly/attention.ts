// Scaled dot-product attention of one query row over cached f32 key/value rows, heads [h0, h1).
// Arithmetic matches the TypeScript path (runtime/src/ops/attention.ts): products of float32 values
// are exact in f64, so dot products and value sums accumulate in f64 lanes (dot products in another
// order than the scalar loop: a difference of ~1e-16 before the float32 rounding); scores, exponentials,
// weights and the 1/sum factor are rounded to float32 where ggml rounds them. Only SIMD128 and f64
// operations: the relaxed build computes the same bits.

/** Query heads per pass over the cached rows: they share each key and value load. */
const PASS: i32 = 4;

/**
 * Query row `q` (headCount * headDim float32), cached rows [first, end): key row t of KV head g at
 * k + t * rowStride + g * headDim * 4 bytes, value row likewise from `v`. Query head h reads KV head
 * h / (headCount / headCountKv). Each score is float32(float32(K.q) * scale), then, when softcap > 0,
 * float32(tanh(score / softcap)) * softcap; softmax subtracts the max, rounds exp to float32 and
 * multiplies by float32(1 / sum). Writes headDim float32 per head at out + h * headDim * 4.
 * `scratch` (16-byte aligned, attentionScratchBytes) holds 4 x (end - first) float32 scores, then
 * 4 x headDim f64 queries and 4 x headDim f64 value sums.
 */
export function attend_f32(
  q: usize, k: usize, v: usize, rowStride: usize, first: i32, end: i32,
  headCount: i32, headCountKv: i32, headDim: i32, scale: f32, softcap: f32,
  out: usize, scratch: usize, h0: i32, h1: i32,
): void {
  const visible = end - first;
  if (visible <= 0) return;
  const group = headCount / headCountKv;
  for (let h = h0; h < h1; ) {
    const kvHead = h / group;
    const heads = min(min(PASS, (kvHead + 1) * group - h), h1 - h);
    attendHeads(q + <usize>(h * headDim) * 4, heads, k, v, <usize>(kvHead * headDim) * 4, rowStride, first, visible, headDim, scale, softcap, out + <usize>(h * headDim) * 4, scratch);
    h += heads;
  }
}

/** `heads` (1..4) consecutive query heads at `qh` against the KV head at byte `kvOffset` of each row. */
function attendHeads(
  qh: usize, heads: i32, k: usize, v: usize, kvOffset: usize, rowStride: usize, first: i32, visible: i32,
  headDim: i32, scale: f32, softcap: f32, oh: usize, scratch: usize,
): void {
  const scoreBytes = (<usize>(visible * 4) + 15) & ~<usize>15;
  const headBytes = <usize>headDim << 2;
  const head64 = <usize>headDim << 3;
  const q64 = scratch + scoreBytes * PASS;
  const acc = q64 + head64 * PASS;
  // Missing heads (heads < 4) repeat head 0's query; their results stay in scratch.
  for (let j = 0; j < PASS; j++) {
    const src = qh + (j < heads ? <usize>j * headBytes : 0);
    for (let d = 0; d < headDim; d++) store<f64>(q64 + <usize>j * head64 + (<usize>d << 3), <f64>load<f32>(src + (<usize>d << 2)));
  }
  const q1 = q64 + head64;
  const q2 = q1 + head64;
  const q3 = q2 + head64;
  const s1 = scratch + scoreBytes;
  const s2 = s1 + scoreBytes;
  const s3 = s2 + scoreBytes;
  const vectorDim = headDim & ~3;
  let kRow = k + <usize>first * rowStride + kvOffset;
  for (let t = 0; t < visible; t++, kRow += rowStride) {
    let a0 = f64x2.splat(0), b0 = f64x2.splat(0), a1 = f64x2.splat(0), b1 = f64x2.splat(0);
    let a2 = f64x2.splat(0), b2 = f64x2.splat(0), a3 = f64x2.splat(0), b3 = f64x2.splat(0);
    let d = 0;
    for (; d < vectorDim; d += 4) {
      const kv = v128.load(kRow + (<usize>d << 2));
      const lo = f64x2.promote_low_f32x4(kv);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(kv, kv, 2, 3, 0, 1));
      const o = <usize>d << 3;
      a0 = f64x2.add(a0, f64x2.mul(v128.load(q64 + o), lo));
      b0 = f64x2.add(b0, f64x2.mul(v128.load(q64 + o, 16), hi));
      a1 = f64x2.add(a1, f64x2.mul(v128.load(q1 + o), lo));
      b1 = f64x2.add(b1, f64x2.mul(v128.load(q1 + o, 16), hi));
      a2 = f64x2.add(a2, f64x2.mul(v128.load(q2 + o), lo));
      b2 = f64x2.add(b2, f64x2.mul(v128.load(q2 + o, 16), hi));
      a3 = f64x2.add(a3, f64x2.mul(v128.load(q3 + o), lo));
      b3 = f64x2.add(b3, f64x2.mul(v128.load(q3 + o, 16), hi));
    }
    let dot0 = lanes(a0, b0), dot1 = lanes(a1, b1), dot2 = lanes(a2, b2), dot3 = lanes(a3, b3);
    for (; d < headDim; d++) {
      const kd = <f64>load<f32>(kRow + (<usize>d << 2));
      const o = <usize>d << 3;
      dot0 += load<f64>(q64 + o) * kd;
      dot1 += load<f64>(q1 + o) * kd;
      dot2 += load<f64>(q2 + o) * kd;
      dot3 += load<f64>(q3 + o) * kd;
    }
    const at = <usize>t << 2;
    store<f32>(scratch + at, scoreOf(dot0, scale, softcap));
    store<f32>(s1 + at, scoreOf(dot1, scale, softcap));
    store<f32>(s2 + at, scoreOf(dot2, scale, softcap));
    store<f32>(s3 + at, scoreOf(dot3, scale, softcap));
  }
  const inverse0 = softmaxWeights(scratch, visible);
  const inverse1 = softmaxWeights(s1, visible);
  const inverse2 = softmaxWeights(s2, visible);
  const inverse3 = softmaxWeights(s3, visible);
  for (let i = 0; i < PASS * headDim; i++) store<f64>(acc + (<usize>i << 3), 0);
  const c1 = acc + head64;
  const c2 = c1 + head64;
  const c3 = c2 + head64;
  let vRow = v + <usize>first * rowStride + kvOffset;
  for (let t = 0; t < visible; t++, vRow += rowStride) {
    const at = <usize>t << 2;
    const x0 = <f64>(load<f32>(scratch + at) * inverse0);
    const x1 = <f64>(load<f32>(s1 + at) * inverse1);
    const x2 = <f64>(load<f32>(s2 + at) * inverse2);
    const x3 = <f64>(load<f32>(s3 + at) * inverse3);
    const w0 = f64x2.splat(x0), w1 = f64x2.splat(x1), w2 = f64x2.splat(x2), w3 = f64x2.splat(x3);
    let d = 0;
    for (; d < vectorDim; d += 4) {
      const vv = v128.load(vRow + (<usize>d << 2));
      const lo = f64x2.promote_low_f32x4(vv);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(vv, vv, 2, 3, 0, 1));
      const o = <usize>d << 3;
      accumulate(acc + o, w0, lo, hi);
      accumulate(c1 + o, w1, lo, hi);
      accumulate(c2 + o, w2, lo, hi);
      accumulate(c3 + o, w3, lo, hi);
    }
    for (; d < headDim; d++) {
      const vd = <f64>load<f32>(vRow + (<usize>d << 2));
      const o = <usize>d << 3;
      store<f64>(acc + o, load<f64>(acc + o) + x0 * vd);
      store<f64>(c1 + o, load<f64>(c1 + o) + x1 * vd);
      store<f64>(c2 + o, load<f64>(c2 + o) + x2 * vd);
      store<f64>(c3 + o, load<f64>(c3 + o) + x3 * vd);
    }
  }
  for (let i = 0; i < heads * headDim; i++) store<f32>(oh + (<usize>i << 2), <f32>load<f64>(acc + (<usize>i << 3)));
}

@inline function lanes(a: v128, b: v128): f64 {
  const both = f64x2.add(a, b);
  return f64x2.extract_lane(both, 0) + f64x2.extract_lane(both, 1);
}

/** ggml stores K.q as float32, then scales it; Gemma 2 caps the scaled score. */
@inline function scoreOf(dot: f64, scale: f32, softcap: f32): f32 {
  const score: f32 = <f32>dot * scale;
  if (softcap > 0) return <f32>Math.tanh(<f64>(score * (<f32>1 / softcap))) * softcap;
  return score;
}

/** acc[0..3] (f64) += w * (lo, hi): products of float32 values are exact in f64, as in the TS loops. */
@inline function accumulate(p: usize, w: v128, lo: v128, hi: v128): void {
  v128.store(p, f64x2.add(v128.load(p), f64x2.mul(w, lo)));
  v128.store(p, f64x2.add(v128.load(p, 16), f64x2.mul(w, hi)), 16);
}

/** In place over `count` float32 scores: exp(score - max) rounded to float32; returns float32(1 / their sum). */
function softmaxWeights(scores: usize, count: i32): f32 {
  let max: f32 = -Infinity;
  for (let i = 0; i < count; i++) {
    const s = load<f32>(scores + (<usize>i << 2));
    if (s > max) max = s;
  }
  let sum: f64 = 0;
  for (let i = 0; i < count; i++) {
    const p = scores + (<usize>i << 2);
    const e = <f32>Math.exp(<f64>load<f32>(p) - <f64>max);
    store<f32>(p, e);
    sum += <f64>e;
  }
  return <f32>(1 / sum);
}
