/**
 * Float kernels of the forward pass. They follow ggml's CPU arithmetic where it is cheap to do so
 * (float32 rounding of stored intermediates, float64 sums), so F32 models land within ~1e-5 of
 * llama.cpp: sums are accumulated in JS doubles and every stored value is rounded to float32 by
 * the Float32Array it lands in.
 */
const f32 = Math.fround;

/**
 * out[i] = x[i] * 1/sqrt(mean(x^2) + eps) * weight[i] over one row of `weight.length` values,
 * read from `x` at `xOffset` and written to `out` at `outOffset` (may alias `x`).
 */
export function rmsNormRow(x: Float32Array, xOffset: number, weight: Float32Array, eps: number, out: Float32Array, outOffset: number): void {
  const n = weight.length;
  let sumSquares = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i]!;
    sumSquares += v * v;
  }
  // ggml: mean and scale are float32; the normalised row is stored before the weight multiply.
  const scale = f32(1 / f32(Math.sqrt(f32(f32(sumSquares / n) + eps))));
  for (let i = 0; i < n; i++) {
    out[outOffset + i] = f32(x[xOffset + i]! * scale) * weight[i]!;
  }
}

/**
 * Cosines and sines of llama's rotary embedding for one position: pair j (elements 2j, 2j+1)
 * turns by position * base^(-2j/ropeDims). The angle is advanced by repeated float32
 * multiplication, as ggml does, so it matches llama.cpp bit for bit in the common case.
 */
export function ropeAngles(position: number, ropeDims: number, freqBase: number, cos: Float32Array, sin: Float32Array): void {
  const thetaScale = f32(Math.pow(f32(freqBase), -2 / ropeDims));
  let theta = f32(position);
  for (let j = 0; j < ropeDims / 2; j++) {
    cos[j] = Math.cos(theta);
    sin[j] = Math.sin(theta);
    theta = f32(theta * thetaScale);
  }
}

/**
 * Rotates adjacent pairs (llama's "normal" RoPE mode) of `heads` consecutive heads of width
 * `headDim` starting at `offset`; only the first `ropeDims` elements of each head turn.
 */
export function applyRopeNormal(x: Float32Array, offset: number, heads: number, headDim: number, ropeDims: number, cos: Float32Array, sin: Float32Array): void {
  for (let h = 0; h < heads; h++) {
    const base = offset + h * headDim;
    for (let i = 0; i < ropeDims; i += 2) {
      const c = cos[i >> 1]!;
      const s = sin[i >> 1]!;
      const x0 = x[base + i]!;
      const x1 = x[base + i + 1]!;
      x[base + i] = f32(x0 * c) - f32(x1 * s);
      x[base + i + 1] = f32(x0 * s) + f32(x1 * c);
    }
  }
}

/** In place: gate[i] = silu(gate[i]) * up[i] over `count` values (SwiGLU). */
export function swiGluInPlace(gate: Float32Array, up: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const g = gate[i]!;
    gate[i] = f32(g / (1 + Math.exp(-g))) * up[i]!;
  }
}

/** In place: x[i] += y[i] over `count` values. */
export function addInPlace(x: Float32Array, y: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) x[i] = x[i]! + y[i]!;
}

/** Index of the largest value; ties go to the lowest index (llama.cpp's greedy rule). NaN never wins. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}
