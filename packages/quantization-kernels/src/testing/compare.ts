// Test helpers: weights for any format, and the comparison the kernel tests use.
import { createWeightTensor, ggmlTypeInfo, quantize, blockFormat, type IWeightTensor } from '@smallmind/quantization-tensors';
import { expect } from 'vitest';

/** Deterministic pseudo-random floats in [-1, 1). */
export function randomFloats(count: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = ((state >>> 0) / 2 ** 32) * 2 - 1;
  }
  return out;
}

/**
 * A reference tensor of `type`: quantized from random floats with the reference quantizer when
 * the format has one, else random block bytes below 0x40 (finite fp16 scales in every format).
 */
export function referenceTensor(type: number, rows: number, cols: number, seed: number): IWeightTensor {
  const format = blockFormat(type);
  if (format.quantize !== undefined) return createWeightTensor(type, quantize(type, randomFloats(rows * cols, seed)), [cols, rows]);
  const info = ggmlTypeInfo(type);
  const bytes = new Uint8Array((rows * cols / info.blockSize) * info.typeSize);
  const noise = randomFloats(bytes.length, seed);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor((noise[i]! + 1) * 128) & 0x3b;
  return createWeightTensor(type, bytes, [cols, rows]);
}

/**
 * Asserts `actual` equals the reference product `expected` up to float summation order: for each
 * output, |actual - expected| <= 1e-5 * sum_c |W[r][c] * x[c]| (the size of the terms summed, so
 * cancellation cannot hide a real error behind a relative bound on a small result).
 */
export function expectSameProduct(weights: Float32Array, cols: number, x: Float32Array, n: number, expected: Float32Array, actual: Float32Array): void {
  const rows = weights.length / cols;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < rows; r++) {
      let magnitude = 0;
      for (let c = 0; c < cols; c++) magnitude += Math.abs(weights[r * cols + c]! * x[i * cols + c]!);
      const e = expected[i * rows + r]!;
      const a = actual[i * rows + r]!;
      const allowed = 1e-5 * magnitude;
      const error = Math.abs(a - e);
      if (!(error <= allowed)) {
        expect.fail(`row ${r} of batch row ${i}: got ${a}, reference ${e} (|diff| ${error} > ${allowed})`);
      }
      worst = Math.max(worst, magnitude > 0 ? error / magnitude : 0);
    }
  }
  expect(worst).toBeLessThanOrEqual(1e-5);
}
