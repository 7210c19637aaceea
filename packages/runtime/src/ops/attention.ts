/**
 * Scaled dot-product attention of query rows over a KV cache, with GQA/MQA head sharing, a visible window
 * (causal and sliding-window masks are both "keys from `first` to the query's own position") and
 * optional soft-capping of the scores. Arithmetic follows ggml's non-flash path: K·q stored as float32,
 * scaled, (capped,) softmax with float32 exponentials normalised by a float32 1/sum, values summed in
 * position order.
 */
const f32 = Math.fround;

/** Query heads handled in one pass over the cached rows (independent dot-product chains). */
const HEADS_PER_PASS = 4;

export interface AttentionShape {
  readonly headCount: number;
  readonly headCountKv: number;
  /** Width of a query/key head. */
  readonly headDim: number;
}

export interface AttentionParams {
  /** Multiplies K·q (usually 1/sqrt(headDim)), before any soft-cap. */
  readonly scale: number;
  /** When set, scaled scores become cap * tanh(score / cap) before the softmax (Gemma 2). */
  readonly softcap?: number | undefined;
}

/** Scratch for attention; one per session (it grows with the longest visible window seen). */
export class AttentionScratch {
  private scores = new Float32Array(0);
  /** Up to four heads' outputs, summed in doubles before they are stored as float32. */
  private readonly valueSums: Float64Array;

  constructor(private readonly shape: AttentionShape) {
    this.valueSums = new Float64Array(HEADS_PER_PASS * shape.headDim);
  }

  /**
   * Attention of one query row (all heads, `headCount * headDim` values at `qOffset`) over cached rows
   * [first, end) of `keys` / `values` (rows of `headCountKv * headDim`, row t at t * kvWidth, possibly
   * relative to a window start already subtracted by the caller). Query head h reads KV head
   * h / (headCount / headCountKv), llama.cpp's grouping. Writes `headCount * headDim` values at `outOffset`.
   */
  attend(q: Float32Array, qOffset: number, keys: Float32Array, values: Float32Array, first: number, end: number, params: AttentionParams, out: Float32Array, outOffset: number): void {
    const { headCount, headCountKv, headDim } = this.shape;
    const visible = end - first;
    if (this.scores.length < HEADS_PER_PASS * visible) this.scores = new Float32Array(HEADS_PER_PASS * Math.max(visible, 2 * this.scores.length / HEADS_PER_PASS));
    const group = headCount / headCountKv;
    for (let h = 0; h < headCount; ) {
      const kvHead = Math.floor(h / group);
      const heads = Math.min(HEADS_PER_PASS, (kvHead + 1) * group - h);
      this.attendHeads(q, qOffset + h * headDim, heads, keys, values, kvHead * headDim, first, visible, params, out, outOffset + h * headDim);
      h += heads;
    }
  }

  /** `heads` (1..4) consecutive query heads at `qBase` against the KV head at column `kvBase`. */
  private attendHeads(
    q: Float32Array,
    qBase: number,
    heads: number,
    cacheK: Float32Array,
    cacheV: Float32Array,
    kvBase: number,
    first: number,
    visible: number,
    params: AttentionParams,
    out: Float32Array,
    outBase: number,
  ): void {
    const { headCountKv, headDim } = this.shape;
    const kvWidth = headCountKv * headDim;
    const cap = params.softcap;
    const scale = f32(params.scale);
    const scores = this.scores;
    // Missing heads (heads < 4) reuse head 0's query and write past `heads` into scratch only.
    const q1 = qBase + (heads > 1 ? headDim : 0);
    const q2 = qBase + (heads > 2 ? 2 * headDim : 0);
    const q3 = qBase + (heads > 3 ? 3 * headDim : 0);
    const s1 = visible;
    const s2 = 2 * visible;
    const s3 = 3 * visible;
    for (let t = 0, kBase = kvBase + first * kvWidth; t < visible; t++, kBase += kvWidth) {
      let dot0 = 0;
      let dot1 = 0;
      let dot2 = 0;
      let dot3 = 0;
      for (let d = 0; d < headDim; d++) {
        const k = cacheK[kBase + d]!;
        dot0 += q[qBase + d]! * k;
        dot1 += q[q1 + d]! * k;
        dot2 += q[q2 + d]! * k;
        dot3 += q[q3 + d]! * k;
      }
      // ggml stores K.q as float32, then scales it.
      scores[t] = f32(f32(dot0) * scale);
      scores[s1 + t] = f32(f32(dot1) * scale);
      scores[s2 + t] = f32(f32(dot2) * scale);
      scores[s3 + t] = f32(f32(dot3) * scale);
    }
    if (cap !== undefined) {
      // Gemma 2 caps the scaled scores (llama.cpp scales Q first, then caps K·q with a softmax scale of 1).
      const inverse = f32(1 / cap);
      for (let i = 0, n = 4 * visible; i < n; i++) scores[i] = f32(f32(Math.tanh(f32(scores[i]! * inverse))) * cap);
    }
    const inverse0 = softmaxWeights(scores, 0, visible);
    const inverse1 = softmaxWeights(scores, s1, visible);
    const inverse2 = softmaxWeights(scores, s2, visible);
    const inverse3 = softmaxWeights(scores, s3, visible);
    // Positions outer, dimensions inner: each cached value row is read once and contiguously;
    // every output dimension still sums its terms in position order, in a double.
    const acc = this.valueSums;
    const a1 = headDim;
    const a2 = 2 * headDim;
    const a3 = 3 * headDim;
    acc.fill(0);
    for (let t = 0, vBase = kvBase + first * kvWidth; t < visible; t++, vBase += kvWidth) {
      const w0 = f32(scores[t]! * inverse0);
      const w1 = f32(scores[s1 + t]! * inverse1);
      const w2 = f32(scores[s2 + t]! * inverse2);
      const w3 = f32(scores[s3 + t]! * inverse3);
      for (let d = 0; d < headDim; d++) {
        const v = cacheV[vBase + d]!;
        acc[d] = acc[d]! + w0 * v;
        acc[a1 + d] = acc[a1 + d]! + w1 * v;
        acc[a2 + d] = acc[a2 + d]! + w2 * v;
        acc[a3 + d] = acc[a3 + d]! + w3 * v;
      }
    }
    const count = heads * headDim;
    for (let i = 0; i < count; i++) out[outBase + i] = acc[i]!;
  }
}

/**
 * In place over scores[offset .. offset + count): exp(score - max) rounded to float32; returns
 * 1 / (their sum) as float32 (ggml's softmax normalisation factor).
 */
function softmaxWeights(scores: Float32Array, offset: number, count: number): number {
  let max = -Infinity;
  for (let i = offset, end = offset + count; i < end; i++) if (scores[i]! > max) max = scores[i]!;
  let sum = 0;
  for (let i = offset, end = offset + count; i < end; i++) {
    const e = f32(Math.exp(scores[i]! - max));
    scores[i] = e;
    sum += e;
  }
  return f32(1 / sum);
}
