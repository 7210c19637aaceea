/**
 * Arithmetic shared by the 32-weight legacy formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1).
 *
 * C's `float` rounds after every operation; here each float32 operation is one float64 operation
 * followed by `Math.fround`, which gives the identical result for +, -, *, / (53 >= 2*24 + 2).
 */

/** Weights per block of every legacy format (ggml's QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0 = QK8_1). */
export const QK = 32;
/** Half a block: element j and element j + 16 share byte j in the 4-bit formats. */
export const HALF_QK = 16;

const fround = Math.fround;

/**
 * The value of largest magnitude in a block, the first one on ties (ggml's `amax < fabsf(v)`
 * search in quantize_row_q4_0_ref / q5_0_ref, numpy's argmax in gguf-py). Its sign matters: the
 * Q4_0/Q5_0 scale is chosen so this value lands exactly on the most negative level.
 */
export function signedAbsMax(src: Float32Array, offset: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const v = src[offset + j]!;
    const a = Math.abs(v);
    if (amax < a) {
      amax = a;
      max = v;
    }
  }
  return max;
}

/** Largest |v| in a block (quantize_row_q8_0_ref / q8_1_ref). */
export function absMax(src: Float32Array, offset: number, n: number): number {
  let amax = 0;
  for (let j = 0; j < n; j++) {
    const a = Math.abs(src[offset + j]!);
    if (a > amax) amax = a;
  }
  return amax;
}

/** `[min, max]` of a block (quantize_row_q4_1_ref / q5_1_ref). */
export function minMax(src: Float32Array, offset: number, n: number): [min: number, max: number] {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = src[offset + j]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** ggml's `id = d ? 1.0f/d : 0.0f`. */
export function inverseScale(d: number): number {
  return d !== 0 ? fround(1 / d) : 0;
}

/**
 * C's `roundf`: halves round away from zero (not JavaScript's Math.round, which rounds -2.5 to -2).
 * Exact for float32 inputs: x + 0.5 is exact in float64 for every float32 below 2^29.
 */
export function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.floor(0.5 - x) : Math.floor(x + 0.5);
}

/**
 * Level for the symmetric 4/5-bit quantizers: trunc(x * id + offset), capped at `maxLevel`.
 *
 * llama.cpp's C build contracts `x*id + 8.5f` into one fused multiply-add, and the files we compare
 * with were written by gguf-py, which emulates that by computing the product and sum in float64
 * and rounding once to float32 before truncating. We do the same: x * id is exact in float64
 * (24 x 24 bits), the + offset rounds in float64, then fround.
 */
export function fusedLevel(x: number, id: number, offset: number, maxLevel: number): number {
  const level = Math.trunc(fround(x * id + offset));
  return level > maxLevel ? maxLevel : level;
}

/**
 * Level for the min/scale quantizers (Q4_1/Q5_1): trunc(((x - min) * id) + 0.5) with every step
 * rounded to float32 (gguf-py evaluates these in float32 without a fused multiply-add).
 */
export function offsetLevel(x: number, min: number, id: number, maxLevel: number): number {
  const level = Math.trunc(fround(fround(fround(x - min) * id) + 0.5));
  return level > maxLevel ? maxLevel : level;
}

/** The same bytes read as int8 (Q8_0/Q8_1 quants), without copying. */
export function int8View(bytes: Uint8Array): Int8Array {
  return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Little-endian u32 at any offset (the qh bits of Q5_0/Q5_1). */
export function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

/** Writes a little-endian u32 at `offset`. */
export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = (value >>> 8) & 0xff;
  bytes[offset + 2] = (value >>> 16) & 0xff;
  bytes[offset + 3] = value >>> 24;
}
