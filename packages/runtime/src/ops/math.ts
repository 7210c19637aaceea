/**
 * Float kernels of the forward pass. They follow ggml's CPU arithmetic where it is cheap to do so
 * (float32 rounding of stored intermediates, float64 sums), so F32 models land within ~1e-5 of
 * llama.cpp: sums are accumulated in JS doubles and every stored value is rounded to float32 by
 * the Float32Array it lands in.
 */
import { f32ToFp16, fp16ToF32 } from '@smallmind/quantization-tensors';

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
 * Cosines and sines of the rotary embedding for one position: pair j turns by
 * position * base^(-2j/ropeDims), divided by `freqFactors[j]` when given (Llama 3's rope_freqs, Phi-3's
 * rope factors) and multiplied by `freqScale` (linear RoPE scaling). The angle is advanced by repeated
 * float32 multiplication, as ggml does, so it matches llama.cpp bit for bit in the common case.
 * Writes ropeDims / 2 values to `cos` / `sin` from `outOffset`.
 */
export function ropeAngles(
  position: number,
  ropeDims: number,
  freqBase: number,
  cos: Float32Array,
  sin: Float32Array,
  outOffset = 0,
  freqScale = 1,
  freqFactors?: Float32Array,
): void {
  const thetaScale = f32(Math.pow(f32(freqBase), -2 / ropeDims));
  let theta = f32(position);
  for (let j = 0; j < ropeDims / 2; j++) {
    let angle = freqFactors === undefined ? theta : f32(theta / freqFactors[j]!);
    if (freqScale !== 1) angle = f32(freqScale * angle);
    cos[outOffset + j] = Math.cos(angle);
    sin[outOffset + j] = Math.sin(angle);
    theta = f32(theta * thetaScale);
  }
}

/**
 * Rotates adjacent pairs (llama's "normal" RoPE mode) of `heads` consecutive heads of width
 * `headDim` starting at `offset`; only the first `ropeDims` elements of each head turn.
 */
export function applyRopeNormal(
  x: Float32Array,
  offset: number,
  heads: number,
  headDim: number,
  ropeDims: number,
  cos: Float32Array,
  sin: Float32Array,
  angleOffset = 0,
): void {
  for (let h = 0; h < heads; h++) {
    const base = offset + h * headDim;
    for (let i = 0; i < ropeDims; i += 2) {
      const c = cos[angleOffset + (i >> 1)]!;
      const s = sin[angleOffset + (i >> 1)]!;
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

/**
 * out[i] = (x[i] - mean) / sqrt(var + eps) * weight[i] + bias[i] over one row (LayerNorm, as ggml_norm then
 * the weight multiply and bias add). `bias` may be undefined (no bias).
 */
export function layerNormRow(
  x: Float32Array,
  xOffset: number,
  weight: Float32Array,
  bias: Float32Array | undefined,
  eps: number,
  out: Float32Array,
  outOffset: number,
): void {
  const n = weight.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[xOffset + i]!;
  // ggml_norm: mean in float32, the centred row stored, then variance of the stored values.
  const mean = f32(sum / n);
  let sumSquares = 0;
  for (let i = 0; i < n; i++) {
    const v = f32(x[xOffset + i]! - mean);
    out[outOffset + i] = v;
    sumSquares += v * v;
  }
  const scale = f32(1 / f32(Math.sqrt(f32(f32(sumSquares / n) + eps))));
  for (let i = 0; i < n; i++) {
    const normed = f32(out[outOffset + i]! * scale) * weight[i]!;
    out[outOffset + i] = bias === undefined ? normed : f32(normed) + bias[i]!;
  }
}

/**
 * Rotates NeoX-style pairs (element i with element i + ropeDims/2) of `heads` consecutive heads of width
 * `headDim` starting at `offset`; elements past `ropeDims` pass through.
 */
export function applyRopeNeox(
  x: Float32Array,
  offset: number,
  heads: number,
  headDim: number,
  ropeDims: number,
  cos: Float32Array,
  sin: Float32Array,
  angleOffset = 0,
): void {
  const half = ropeDims >> 1;
  for (let h = 0; h < heads; h++) {
    const base = offset + h * headDim;
    for (let j = 0; j < half; j++) {
      const c = cos[angleOffset + j]!;
      const s = sin[angleOffset + j]!;
      const x0 = x[base + j]!;
      const x1 = x[base + j + half]!;
      x[base + j] = f32(x0 * c) - f32(x1 * s);
      x[base + j + half] = f32(x0 * s) + f32(x1 * c);
    }
  }
}

const GELU_COEF_A = 0.044715;
const SQRT_2_OVER_PI = 0.7978845608028654;

/**
 * GELU in its tanh form, evaluated exactly: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). (llama.cpp's CPU
 * GELU reads the same function from an fp16 table, which moves logits by ~0.01: see docs/parity.md.)
 */
export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * x * (1 + GELU_COEF_A * x * x)));
}

/** In place: x[i] = gelu(x[i]) over `count` values. */
export function geluInPlace(x: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) x[i] = gelu(x[i]!);
}

/** gelu of every fp16 value, rounded to fp16 (ggml's ggml_table_gelu_f16), built on first use (256 KB). */
let geluFp16Table: Float32Array | undefined;

/**
 * In place: GELU as llama.cpp's CPU backend evaluates it (GGML_GELU_FP16): x <= -10 gives 0, x >= 10 gives x,
 * anything else is rounded to fp16 and looked up in a table of fp16 results. BERT uses it: its embeddings
 * then match llama.cpp's to ~1e-6 instead of ~1e-3 (docs/embeddings.md).
 */
export function geluFp16InPlace(x: Float32Array, count: number): void {
  if (geluFp16Table === undefined) {
    geluFp16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) geluFp16Table[h] = fp16ToF32(f32ToFp16(gelu(fp16ToF32(h))));
  }
  const table = geluFp16Table;
  for (let i = 0; i < count; i++) {
    const v = x[i]!;
    x[i] = v <= -10 ? 0 : v >= 10 ? v : table[f32ToFp16(v)]!;
  }
}

/** In place: gate[i] = gelu(gate[i]) * up[i] over `count` values (GeGLU). */
export function geGluInPlace(gate: Float32Array, up: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) gate[i] = f32(gelu(gate[i]!)) * up[i]!;
}

/** In place: x[i] = cap * tanh(x[i] / cap) (Gemma's soft-capping), over `count` values from `offset`. */
export function softcapInPlace(x: Float32Array, offset: number, count: number, cap: number): void {
  const inverse = f32(1 / cap);
  for (let i = offset, end = offset + count; i < end; i++) x[i] = f32(Math.tanh(f32(x[i]! * inverse))) * cap;
}

/** In place: x[i] *= s over `count` values. */
export function scaleInPlace(x: Float32Array, count: number, s: number): void {
  for (let i = 0; i < count; i++) x[i] = x[i]! * s;
}
