import { describe, expect, it } from 'vitest';
import { bf16ToF32, f32Bits, f32FromBits, f32ToBf16, f32ToFp16, fp16ToF32, readFp16, writeBf16, writeFp16 } from './half.js';
import { uniformSource } from './test-support/random.js';

/** fp16 value from its bits by the IEEE formula, independent of the table in half.ts. */
function fp16ByFormula(bits: number): number {
  const sign = bits >> 15 ? -1 : 1;
  const exponent = (bits >> 10) & 31;
  const fraction = (bits & 1023) / 1024;
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * fraction * 2 ** -14;
  return sign * (1 + fraction) * 2 ** (exponent - 15);
}

/**
 * Reference f32 -> 16-bit rounding by search: among the two representable neighbours of |x|
 * (non-negative 16-bit patterns are ordered like their values) take the nearer, ties to the even
 * pattern. `overflowValue` is where the pattern after the largest finite one would sit if the
 * exponent were unbounded (IEEE's overflow rule).
 */
function nearestEvenBySearch(x: number, decode: (bits: number) => number, maxFinite: number, overflowValue: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const target = Math.abs(x);
  let lo = 0;
  let hi = maxFinite + 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (decode(mid) <= target) lo = mid;
    else hi = mid;
  }
  if (decode(lo) === target) return sign | lo;
  const upper = lo === maxFinite ? overflowValue : decode(lo + 1);
  const below = target - decode(lo);
  const above = upper - target;
  const pick = below < above || (below === above && (lo & 1) === 0) ? lo : lo + 1;
  return sign | pick;
}

describe('fp16', () => {
  it('decodes all 65536 bit patterns as the IEEE formula does', () => {
    for (let bits = 0; bits < 65536; bits++) {
      const expected = fp16ByFormula(bits);
      if (Number.isNaN(expected)) expect(fp16ToF32(bits)).toBeNaN();
      else expect(Object.is(fp16ToF32(bits), expected)).toBe(true);
    }
  });

  it('re-encodes every non-NaN half to the same bits', () => {
    for (let bits = 0; bits < 65536; bits++) {
      if ((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0) continue;
      if (f32ToFp16(fp16ToF32(bits)) !== bits) throw new Error(`0x${bits.toString(16)} did not round-trip`);
    }
  });

  it('rounds float32 values to nearest even, like a search over all halves', () => {
    const random = uniformSource(1);
    for (let i = 0; i < 100_000; i++) {
      // Exponents 90..150 cover zero-rounding, subnormal halves, normals and overflow.
      const exponent = 90 + Math.floor(random() * 60);
      const bits = ((random() < 0.5 ? 0x80000000 : 0) | (exponent << 23) | Math.floor(random() * 0x800000)) >>> 0;
      const x = f32FromBits(bits);
      const expected = nearestEvenBySearch(x, fp16ByFormula, 0x7bff, 65536);
      const expectedBits = (expected & 0x7fff) > 0x7bff ? (expected & 0x8000) | 0x7c00 : expected;
      if (f32ToFp16(x) !== expectedBits) throw new Error(`f32 0x${bits.toString(16)}: got 0x${f32ToFp16(x).toString(16)}, want 0x${expectedBits.toString(16)}`);
    }
  });

  it('handles ties, overflow, subnormals and specials', () => {
    expect(f32ToFp16(1 + 2 ** -11)).toBe(0x3c00); // tie between 1 and 1+2^-10 -> even
    expect(f32ToFp16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(f32ToFp16(65519)).toBe(0x7bff);
    expect(f32ToFp16(65520)).toBe(0x7c00); // halfway to 2^16 overflows
    expect(f32ToFp16(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal
    expect(f32ToFp16(f32FromBits(f32Bits(2 ** -25) + 1))).toBe(0x0001);
    expect(f32ToFp16(3 * 2 ** -25)).toBe(0x0002);
    expect(f32ToFp16(2 ** -14 - 2 ** -25)).toBe(0x0400); // largest subnormal + half ulp rounds into the normals
    expect(f32ToFp16(-0)).toBe(0x8000);
    expect(f32ToFp16(Infinity)).toBe(0x7c00);
    expect(f32ToFp16(-Infinity)).toBe(0xfc00);
    expect(f32ToFp16(NaN)).toBe(0x7e00);
    expect(f32ToFp16(1e-40)).toBe(0); // float32 subnormal
  });

  it('reads and writes little-endian at any offset', () => {
    const bytes = new Uint8Array(5);
    expect(writeFp16(bytes, 3, -2.5)).toBe(0xc100);
    expect(Array.from(bytes)).toEqual([0, 0, 0, 0x00, 0xc1]);
    expect(readFp16(bytes, 3)).toBe(-2.5);
  });
});

describe('bf16', () => {
  const bf16Decode = (bits: number): number => bf16ToF32(bits);

  it('decodes as the top half of a float32', () => {
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc040)).toBe(-3);
    expect(bf16ToF32(0x7f80)).toBe(Infinity);
    expect(bf16ToF32(0x0001)).toBe(f32FromBits(0x00010000));
  });

  it('rounds to nearest even like a search over all bf16 values (ggml_compute_fp32_to_bf16)', () => {
    const random = uniformSource(2);
    for (let i = 0; i < 100_000; i++) {
      const bits = Math.floor(random() * 2 ** 32);
      const x = f32FromBits(bits);
      if (Number.isNaN(x)) continue;
      const expected = nearestEvenBySearch(x, bf16Decode, 0x7f7f, 2 ** 128);
      if (f32ToBf16(x) !== expected) throw new Error(`f32 0x${bits.toString(16)}: got 0x${f32ToBf16(x).toString(16)}, want 0x${expected.toString(16)}`);
    }
  });

  it('handles ties, overflow, subnormals and NaN as ggml does', () => {
    expect(f32ToBf16(f32FromBits(0x3f808000))).toBe(0x3f80); // tie -> even (down)
    expect(f32ToBf16(f32FromBits(0x3f818000))).toBe(0x3f82); // tie -> even (up)
    expect(f32ToBf16(f32FromBits(0x3f808001))).toBe(0x3f81);
    expect(f32ToBf16(f32FromBits(0x7f7fffff))).toBe(0x7f80); // largest float32 rounds to Inf
    expect(f32ToBf16(f32FromBits(0x00018000))).toBe(0x0002); // subnormals are rounded, not flushed
    expect(f32ToBf16(f32FromBits(0x80008000))).toBe(0x8000);
    expect(f32ToBf16(NaN)).toBe(0x7fc0);
    // A signalling NaN keeps its sign and gets the quiet bit (ggml: (bits >> 16) | 64).
    const signalling = new Float32Array(new Uint32Array([0xff800001]).buffer);
    const bytes = new Uint8Array(2);
    writeBf16(bytes, 0, signalling[0]!);
    // JS may quiet the NaN on the way in; either way the result is a quiet NaN with the sign kept.
    expect((bytes[0]! | (bytes[1]! << 8)) & 0xffc0).toBe(0xffc0);
  });
});
