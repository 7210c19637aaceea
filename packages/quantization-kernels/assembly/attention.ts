// Scaled dot-product attention of one query row over cached f32 key/value rows, heads [h0, h1).
// Arithmetic follows ggml's non-flash path as the TypeScript path (runtime/src/ops/attention.ts) does, in
// float32 SIMD lanes: K.q summed in float32 (four partial sums per head, another order than the scalar
// loop), then scaled (and capped); softmax subtracts the max, takes a float32 exponential (a Cephes-style
// polynomial, within 2 ulp of exp, as ggml_v_expf is) and multiplies by float32(1 / sum) (sum in f64);
// values summed in float32 in position order. Only SIMD128 operations: the relaxed build computes the
// same bits.
import { expf4 } from './common';

/** Query heads per pass over the cached rows: they share each key and value load. */
const PASS: i32 = 4;

/**
 * Query row `q` (headCount * headDim float32), cached rows [first, end): key row t of KV head g at
 * k + t * rowStride + g * headDim * 4 bytes, value row likewise from `v`. Query head h reads KV head
 * h / (headCount / headCountKv). Each score is float32(K.q) * scale, then, when softcap > 0,
 * float32(tanh(score / softcap)) * softcap; softmax subtracts the max, rounds exp to float32 and
 * multiplies by float32(1 / sum). Writes headDim float32 per head at out + h * headDim * 4.
 * `scratch` (16-byte aligned, 16 bytes per visible row: kvStoreLayout) holds 4 x (end - first)
 * float32 weights, the four heads of a pass interleaved (row t at scratch + 16 t, lane j = head j).
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

/**
 * `heads` (1..4) consecutive query heads at `qh` against the KV head at byte `kvOffset` of each row.
 * Missing heads (heads < 4) repeat head 0's query; their results are not stored.
 */
function attendHeads(
  qh: usize, heads: i32, k: usize, v: usize, kvOffset: usize, rowStride: usize, first: i32, visible: i32,
  headDim: i32, scale: f32, softcap: f32, oh: usize, scratch: usize,
): void {
  const headBytes = <usize>headDim << 2;
  const q1 = heads > 1 ? qh + headBytes : qh;
  const q2 = heads > 2 ? qh + headBytes * 2 : qh;
  const q3 = heads > 3 ? qh + headBytes * 3 : qh;
  const vectorDim = headDim & ~3;
  const scaleV = f32x4.splat(scale);
  // Scores, four heads per vector, and their running max.
  let top = f32x4.splat(-Infinity);
  let kRow = k + <usize>first * rowStride + kvOffset;
  for (let t = 0; t < visible; t++, kRow += rowStride) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let d = 0;
    for (; d < vectorDim; d += 4) {
      const kv = v128.load(kRow + (<usize>d << 2));
      const o = <usize>d << 2;
      a0 = f32x4.add(a0, f32x4.mul(v128.load(qh + o), kv));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(q1 + o), kv));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(q2 + o), kv));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(q3 + o), kv));
    }
    let dots = laneSums4f(a0, a1, a2, a3);
    if (d < headDim) dots = f32x4.add(dots, tailDots(qh, q1, q2, q3, kRow, d, headDim));
    let score = f32x4.mul(dots, scaleV);
    if (softcap > 0) score = capped(score, softcap);
    v128.store(scratch + (<usize>t << 4), score);
    top = f32x4.max(top, score);
  }
  softmaxWeights4(scratch, visible, top);
  // Weighted sum of the value rows: eight columns of the four heads at a time in registers, then any
  // remaining columns one at a time (lane j = head j).
  const vBase = v + <usize>first * rowStride + kvOffset;
  let d = 0;
  for (; d + 8 <= headDim; d += 8) {
    let c0 = f32x4.splat(0), e0 = f32x4.splat(0), c1 = f32x4.splat(0), e1 = f32x4.splat(0);
    let c2 = f32x4.splat(0), e2 = f32x4.splat(0), c3 = f32x4.splat(0), e3 = f32x4.splat(0);
    let vRow = vBase + (<usize>d << 2);
    for (let t = 0; t < visible; t++, vRow += rowStride) {
      const w = v128.load(scratch + (<usize>t << 4));
      const lo = v128.load(vRow);
      const hi = v128.load(vRow, 16);
      const w0 = v128.shuffle<f32>(w, w, 0, 0, 0, 0);
      const w1 = v128.shuffle<f32>(w, w, 1, 1, 1, 1);
      const w2 = v128.shuffle<f32>(w, w, 2, 2, 2, 2);
      const w3 = v128.shuffle<f32>(w, w, 3, 3, 3, 3);
      c0 = f32x4.add(c0, f32x4.mul(w0, lo));
      e0 = f32x4.add(e0, f32x4.mul(w0, hi));
      c1 = f32x4.add(c1, f32x4.mul(w1, lo));
      e1 = f32x4.add(e1, f32x4.mul(w1, hi));
      c2 = f32x4.add(c2, f32x4.mul(w2, lo));
      e2 = f32x4.add(e2, f32x4.mul(w2, hi));
      c3 = f32x4.add(c3, f32x4.mul(w3, lo));
      e3 = f32x4.add(e3, f32x4.mul(w3, hi));
    }
    const o = oh + (<usize>d << 2);
    v128.store(o, c0);
    v128.store(o, e0, 16);
    if (heads > 1) {
      v128.store(o + headBytes, c1);
      v128.store(o + headBytes, e1, 16);
    }
    if (heads > 2) {
      v128.store(o + headBytes * 2, c2);
      v128.store(o + headBytes * 2, e2, 16);
    }
    if (heads > 3) {
      v128.store(o + headBytes * 3, c3);
      v128.store(o + headBytes * 3, e3, 16);
    }
  }
  for (; d < headDim; d++) {
    let c = f32x4.splat(0);
    let vRow = vBase + (<usize>d << 2);
    for (let t = 0; t < visible; t++, vRow += rowStride) c = f32x4.add(c, f32x4.mul(v128.load(scratch + (<usize>t << 4)), f32x4.splat(load<f32>(vRow))));
    const o = oh + (<usize>d << 2);
    store<f32>(o, f32x4.extract_lane(c, 0));
    if (heads > 1) store<f32>(o + headBytes, f32x4.extract_lane(c, 1));
    if (heads > 2) store<f32>(o + headBytes * 2, f32x4.extract_lane(c, 2));
    if (heads > 3) store<f32>(o + headBytes * 3, f32x4.extract_lane(c, 3));
  }
}

/** [sum of a0's lanes, a1's, a2's, a3's] (a 4 x 4 transpose-add). */
@inline function laneSums4f(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const s23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(s01, s23, 0, 1, 4, 5), v128.shuffle<f32>(s01, s23, 2, 3, 6, 7));
}

/** The four heads' dot products over columns [d, headDim) (a head width that is not a multiple of 4). */
function tailDots(q0: usize, q1: usize, q2: usize, q3: usize, kRow: usize, d: i32, headDim: i32): v128 {
  let t0: f32 = 0, t1: f32 = 0, t2: f32 = 0, t3: f32 = 0;
  for (; d < headDim; d++) {
    const o = <usize>d << 2;
    const kd = load<f32>(kRow + o);
    t0 += load<f32>(q0 + o) * kd;
    t1 += load<f32>(q1 + o) * kd;
    t2 += load<f32>(q2 + o) * kd;
    t3 += load<f32>(q3 + o) * kd;
  }
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(t0), 1, t1), 2, t2), 3, t3);
}

/** Gemma 2's cap: float32(tanh(score / cap)) * cap per lane. */
function capped(score: v128, cap: f32): v128 {
  const inverse: f32 = <f32>1 / cap;
  const c0 = <f32>Math.tanh(<f64>(f32x4.extract_lane(score, 0) * inverse)) * cap;
  const c1 = <f32>Math.tanh(<f64>(f32x4.extract_lane(score, 1) * inverse)) * cap;
  const c2 = <f32>Math.tanh(<f64>(f32x4.extract_lane(score, 2) * inverse)) * cap;
  const c3 = <f32>Math.tanh(<f64>(f32x4.extract_lane(score, 3) * inverse)) * cap;
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(c0), 1, c1), 2, c2), 3, c3);
}

/**
 * In place over `count` interleaved score vectors (lane j = head j): exp(score - top) as float32, then
 * times float32(1 / sum) of each head's exponentials (summed in f64).
 */
function softmaxWeights4(scores: usize, count: i32, top: v128): void {
  let sum01 = f64x2.splat(0);
  let sum23 = f64x2.splat(0);
  for (let t = 0; t < count; t++) {
    const p = scores + (<usize>t << 4);
    const e = expf4(f32x4.sub(v128.load(p), top));
    v128.store(p, e);
    sum01 = f64x2.add(sum01, f64x2.promote_low_f32x4(e));
    sum23 = f64x2.add(sum23, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
  }
  const one = f64x2.splat(1);
  const inv01 = f32x4.demote_f64x2_zero(f64x2.div(one, sum01));
  const inv23 = f32x4.demote_f64x2_zero(f64x2.div(one, sum23));
  const inverse = v128.shuffle<f32>(inv01, inv23, 0, 1, 4, 5);
  for (let t = 0; t < count; t++) {
    const p = scores + (<usize>t << 4);
    v128.store(p, f32x4.mul(v128.load(p), inverse));
  }
}
