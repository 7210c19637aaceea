/**
 * Half-precision conversions with ggml's exact rounding, shared by every format file.
 *
 * - fp16 is IEEE binary16. f32 -> fp16 rounds to nearest, ties to even (what F16C's
 *   `_mm_cvtps_ph(x, 0)` and ggml's scalar `ggml_compute_fp32_to_fp16` both do); overflow gives
 *   ±Inf, NaN gives the quiet NaN 0x7E00 with the sign kept (the scalar ggml result).
 * - bf16 is the top half of an f32. f32 -> bf16 is `ggml_compute_fp32_to_bf16`: a NaN is kept as
 *   a NaN with its quiet bit forced on; everything else rounds to nearest even by adding
 *   0x7FFF + lsb before truncating (finite values past the largest bf16 round to ±Inf;
 *   subnormals are kept, not flushed).
 *
 * All functions take and return raw 16-bit patterns as numbers in 0..0xFFFF.
 */

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Raw bits of `value` rounded to float32. */
export function f32Bits(value: number): number {
  f32Scratch[0] = value;
  return u32Scratch[0]!;
}

/** The float32 whose raw bits are `bits` (taken modulo 2^32). */
export function f32FromBits(bits: number): number {
  u32Scratch[0] = bits;
  return f32Scratch[0]!;
}

function decodeFp16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/**
 * Every fp16 value as float32, indexed by bit pattern (256 KiB, like ggml's `ggml_table_f32_f16`):
 * dequantization reads one scale per block, so a table lookup beats decoding each time.
 */
const fp16Table: Float32Array = (() => {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = decodeFp16(bits);
  // Keep NaN payloads bit-exact (decodeFp16 returns the canonical NaN).
  const tableBits = new Uint32Array(table.buffer);
  for (let bits = 0; bits < 65536; bits++) {
    if ((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0) {
      tableBits[bits] = ((bits & 0x8000) << 16) | 0x7f800000 | ((bits & 0x3ff) << 13);
    }
  }
  return table;
})();

/** fp16 bits -> the exact float32 value (every fp16 value is representable). */
export function fp16ToF32(bits: number): number {
  return fp16Table[bits & 0xffff]!;
}

/** f32 -> fp16 bits, round to nearest even (input is first rounded to float32, as a C `float`). */
export function f32ToFp16(value: number): number {
  const x = f32Bits(value);
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa !== 0 ? 0x7e00 : 0x7c00);
  const halfExponent = exponent - 112; // rebias 127 -> 15
  if (halfExponent >= 31) return sign | 0x7c00;
  if (halfExponent >= 1) {
    // Normal fp16: keep 10 of 23 mantissa bits. A carry out of the mantissa correctly bumps the
    // exponent, and out of exponent 30 correctly gives Inf (0x7C00).
    let half = (halfExponent << 10) | (mantissa >>> 13);
    const dropped = mantissa & 0x1fff;
    if (dropped > 0x1000 || (dropped === 0x1000 && (half & 1) === 1)) half++;
    return sign | half;
  }
  // Subnormal fp16 (or zero): value = significand * 2^(exponent - 150) = n * 2^-24.
  if (exponent === 0) return sign; // f32 subnormals are far below fp16's smallest subnormal
  const shift = 126 - exponent; // >= 14
  if (shift > 25) return sign;
  const significand = mantissa | 0x800000;
  let half = significand >>> shift;
  const dropped = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  if (dropped > halfway || (dropped === halfway && (half & 1) === 1)) half++;
  return sign | half;
}

/** bf16 bits -> float32 value (exact). */
export function bf16ToF32(bits: number): number {
  return f32FromBits((bits & 0xffff) << 16);
}

/** f32 -> bf16 bits exactly as ggml_compute_fp32_to_bf16 (see the module comment). */
export function f32ToBf16(value: number): number {
  const x = f32Bits(value);
  if ((x & 0x7fffffff) >>> 0 > 0x7f800000) return ((x >>> 16) | 64) & 0xffff;
  return (((x + 0x7fff + ((x >>> 16) & 1)) >>> 0) >>> 16) & 0xffff;
}

/** Reads a little-endian fp16 at `offset` of `bytes` as float32. */
export function readFp16(bytes: Uint8Array, offset: number): number {
  return fp16Table[bytes[offset]! | (bytes[offset + 1]! << 8)]!;
}

/** Writes `value` as a little-endian fp16 at `offset` of `bytes`; returns the bits written. */
export function writeFp16(bytes: Uint8Array, offset: number, value: number): number {
  const bits = f32ToFp16(value);
  bytes[offset] = bits & 0xff;
  bytes[offset + 1] = bits >>> 8;
  return bits;
}

/** Reads a little-endian bf16 at `offset` of `bytes` as float32. */
export function readBf16(bytes: Uint8Array, offset: number): number {
  return bf16ToF32(bytes[offset]! | (bytes[offset + 1]! << 8));
}

/** Writes `value` as a little-endian bf16 at `offset` of `bytes`; returns the bits written. */
export function writeBf16(bytes: Uint8Array, offset: number, value: number): number {
  const bits = f32ToBf16(value);
  bytes[offset] = bits & 0xff;
  bytes[offset + 1] = bits >>> 8;
  return bits;
}
