import { describe, expect, it } from 'vitest';
import type { BlockFormat } from '../block-format.js';
import { GgmlType } from '../ggml-type.js';
import { f32ToFp16, fp16ToF32, readFp16 } from '../half.js';
import { dequantizeWith, quantizeWith } from '../test-support/block-formats.js';
import { gaussianValues } from '../test-support/random.js';
import { bf16Format } from './bf16.js';
import { f16Format } from './f16.js';
import { f32Format } from './f32.js';
import { q4_0Format } from './q4_0.js';
import { q4_1Format } from './q4_1.js';
import { q5_0Format } from './q5_0.js';
import { q5_1Format } from './q5_1.js';
import { q8_0Format } from './q8_0.js';
import { q8_1Format } from './q8_1.js';

const FP16_UNIT = 2 ** -11; // relative rounding error of an fp16 scale

/** Largest |x| and min/max of a 32-value block. */
function blockStats(values: Float32Array, start: number): { amax: number; min: number; max: number } {
  const block = values.subarray(start, start + 32);
  return { amax: Math.max(...block.map(Math.abs)), min: Math.min(...block), max: Math.max(...block) };
}

/**
 * Per-element error bound of quantize -> dequantize, derived from each format's definition:
 * level rounding (half a step, or a whole step where the top level is clamped), plus the fp16
 * rounding of the stored scale (times the largest level) and of the stored minimum.
 */
const roundTripBounds: ReadonlyArray<[string, BlockFormat, (values: Float32Array, i: number) => number]> = [
  ['F32', f32Format, () => 0],
  ['F16', f16Format, (v, i) => Math.max(Math.abs(v[i]!) * FP16_UNIT, 2 ** -25)],
  ['BF16', bf16Format, (v, i) => Math.abs(v[i]!) * 2 ** -8],
  ['Q8_0', q8_0Format, (v, i) => (blockStats(v, i - (i % 32)).amax / 127) * (0.5 + 127 * FP16_UNIT)],
  ['Q8_1', q8_1Format, (v, i) => (blockStats(v, i - (i % 32)).amax / 127) * (0.5 + 127 * FP16_UNIT)],
  ['Q4_0', q4_0Format, (v, i) => (blockStats(v, i - (i % 32)).amax / 8) * (1 + 8 * FP16_UNIT)],
  ['Q5_0', q5_0Format, (v, i) => (blockStats(v, i - (i % 32)).amax / 16) * (1 + 16 * FP16_UNIT)],
  [
    'Q4_1',
    q4_1Format,
    (v, i) => {
      const { min, max } = blockStats(v, i - (i % 32));
      return ((max - min) / 15) * (0.5 + 15 * FP16_UNIT) + Math.abs(min) * FP16_UNIT;
    },
  ],
  [
    'Q5_1',
    q5_1Format,
    (v, i) => {
      const { min, max } = blockStats(v, i - (i % 32));
      return ((max - min) / 31) * (0.5 + 31 * FP16_UNIT) + Math.abs(min) * FP16_UNIT;
    },
  ],
];

describe.each(roundTripBounds)('%s round trip', (_name, format, bound) => {
  it('stays within the format error bound on gaussian data (plus a zero block and a constant block)', () => {
    const values = gaussianValues(4096, 11 + format.info.id);
    values.fill(0, 0, 32);
    values.fill(0.75, 32, 64);
    const restored = dequantizeWith(format, quantizeWith(format, values), values.length);
    let worstRatio = 0;
    for (let i = 0; i < values.length; i++) {
      const error = Math.abs(restored[i]! - values[i]!);
      const limit = bound(values, i) * (1 + 1e-6);
      if (error > limit) throw new Error(`element ${i}: |${restored[i]} - ${values[i]}| = ${error} > ${limit}`);
      if (limit > 0) worstRatio = Math.max(worstRatio, error / limit);
    }
    // An all-zero block restores to zeros (-0 for Q4_0/Q5_0, whose scale is 0 / -8 = -0 in ggml too).
    expect(restored.subarray(0, 32).every((v) => v === 0)).toBe(true);
    // The bound is not vacuous: lossy formats use a real share of it.
    if (format !== f32Format) expect(worstRatio).toBeGreaterThan(0.2);
  });

  it('reads and writes at block offsets without touching neighbours', () => {
    const { blockSize, typeSize } = format.info;
    const count = 2 * Math.max(blockSize, 32);
    const values = gaussianValues(count + blockSize, 5);
    const expected = quantizeWith(format, values.subarray(blockSize));
    const dst = new Uint8Array(expected.length + 2 * typeSize).fill(0xa5);
    format.quantize!(values, blockSize, dst, typeSize, count);
    expect(Array.from(dst.subarray(typeSize, typeSize + expected.length))).toEqual(Array.from(expected));
    expect(dst[0]).toBe(0xa5);
    expect(dst[dst.length - 1]).toBe(0xa5);
    const out = new Float32Array(count + 2).fill(-7);
    format.dequantize(dst, typeSize, out, 1, count);
    expect(Array.from(out.subarray(1, count + 1))).toEqual(Array.from(dequantizeWith(format, expected, count)));
    expect(out[0]).toBe(-7);
    expect(out[count + 1]).toBe(-7);
  });
});

describe('block layouts decode hand-made bytes', () => {
  it('F32 reads little-endian floats at unaligned offsets', () => {
    const bytes = new Uint8Array(9);
    const view = new DataView(bytes.buffer);
    view.setFloat32(1, -1.5, true);
    view.setFloat32(5, 3.25, true);
    expect(Array.from(dequantizeWith(f32Format, bytes.subarray(1), 2))).toEqual([-1.5, 3.25]);
  });

  it('F16 and BF16', () => {
    expect(Array.from(dequantizeWith(f16Format, new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00]), 4))).toEqual([1, -2, 65504, 2 ** -24]);
    expect(Array.from(dequantizeWith(bf16Format, new Uint8Array([0x80, 0x3f, 0x40, 0xc0]), 2))).toEqual([1, -3]);
  });

  // d = 0.5 (fp16 0x3800), m = -1 (fp16 0xBC00); byte j holds element j (low nibble) and j+16 (high).
  const nibbles = Array.from({ length: 16 }, (_, j) => j | ((15 - j) << 4));
  const levels4 = [...Array.from({ length: 16 }, (_, j) => j), ...Array.from({ length: 16 }, (_, j) => 15 - j)];

  it('Q4_0: x = (level - 8) * d', () => {
    const block = new Uint8Array([0x00, 0x38, ...nibbles]);
    expect(Array.from(dequantizeWith(q4_0Format, block, 32))).toEqual(levels4.map((l) => (l - 8) * 0.5));
  });

  it('Q4_1: x = level * d + m', () => {
    const block = new Uint8Array([0x00, 0x38, 0x00, 0xbc, ...nibbles]);
    expect(Array.from(dequantizeWith(q4_1Format, block, 32))).toEqual(levels4.map((l) => l * 0.5 - 1));
  });

  // qh = 0x80000003: elements 0, 1 and 31 get bit 4.
  const qh = [0x03, 0x00, 0x00, 0x80];
  const levels5 = levels4.map((l, j) => l + (j === 0 || j === 1 || j === 31 ? 16 : 0));

  it('Q5_0: x = ((qh bit << 4 | nibble) - 16) * d', () => {
    const block = new Uint8Array([0x00, 0x38, ...qh, ...nibbles]);
    expect(Array.from(dequantizeWith(q5_0Format, block, 32))).toEqual(levels5.map((l) => (l - 16) * 0.5));
  });

  it('Q5_1: x = (qh bit << 4 | nibble) * d + m', () => {
    const block = new Uint8Array([0x00, 0x38, 0x00, 0xbc, ...qh, ...nibbles]);
    expect(Array.from(dequantizeWith(q5_1Format, block, 32))).toEqual(levels5.map((l) => l * 0.5 - 1));
  });

  it('Q8_0 and Q8_1: x = int8 * d', () => {
    const quants = Array.from({ length: 32 }, (_, j) => (j === 31 ? -128 : j - 16));
    const asBytes = quants.map((q) => q & 0xff);
    const expected = quants.map((q) => q * 0.25);
    expect(Array.from(dequantizeWith(q8_0Format, new Uint8Array([0x00, 0x34, ...asBytes]), 32))).toEqual(expected);
    expect(Array.from(dequantizeWith(q8_1Format, new Uint8Array([0x00, 0x34, 0x12, 0x34, ...asBytes]), 32))).toEqual(expected);
  });
});

describe('reference quantizers follow ggml to the bit', () => {
  it('Q8_0 rounds halves away from zero (C roundf), not to even', () => {
    // amax 127 -> d = 1, id = 1: x * id is exact, so the quants are roundf(x).
    const values = new Float32Array(32);
    values.set([127, 2.5, -2.5, 0.5, -0.5, 1.5, -1.49]);
    const bytes = quantizeWith(q8_0Format, values);
    expect(readFp16(bytes, 0)).toBe(1);
    expect(Array.from(new Int8Array(bytes.buffer, 2, 7))).toEqual([127, 3, -3, 1, -1, 2, -1]);
  });

  it('Q4_0 maps the largest-magnitude value to level 0 and clamps its mirror to 15', () => {
    const values = new Float32Array(32);
    values[0] = -4; // d = -4 / -8 = 0.5
    values[1] = 4; // 4 / 0.5 + 8.5 = 16.5 -> 16 -> clamped to 15
    values[16] = 1.2; // 2.4 + 8.5 = 10.9 -> 10
    const bytes = quantizeWith(q4_0Format, values);
    expect(readFp16(bytes, 0)).toBe(0.5);
    expect(bytes[2]! & 0x0f).toBe(0);
    expect(bytes[3]! & 0x0f).toBe(15);
    expect(bytes[2]! >> 4).toBe(10);
  });

  it('Q8_1 stores s = d * sum(q)', () => {
    const values = gaussianValues(32, 3);
    const bytes = quantizeWith(q8_1Format, values);
    const quants = new Int8Array(bytes.buffer, 4, 32);
    const sum = quants.reduce((a, q) => a + q, 0);
    expect(sum).not.toBe(0);
    expect(readFp16(bytes, 2)).toBe(fp16ToF32(f32ToFp16(Math.fround(sum * readFp16(bytes, 0)))));
  });
});

/** The activation format of each weight format with a dot product. */
const dotPairs: ReadonlyArray<[string, BlockFormat, BlockFormat]> = [
  ['F32', f32Format, f32Format],
  ['F16', f16Format, f16Format],
  ['BF16', bf16Format, bf16Format],
  ['Q8_0', q8_0Format, q8_0Format],
  ['Q4_0', q4_0Format, q8_0Format],
  ['Q5_0', q5_0Format, q8_0Format],
  ['Q4_1', q4_1Format, q8_1Format],
  ['Q5_1', q5_1Format, q8_1Format],
];

describe.each(dotPairs)('%s vecDot', (_name, format, activationFormat) => {
  it('names its activation partner as vecDotType', () => {
    expect(format.vecDotType).toBe(activationFormat.info.id);
  });

  it('equals the float64 dot of both dequantized operands within float32 accumulation error', () => {
    const count = 1024;
    const w = quantizeWith(format, gaussianValues(count, 21));
    const a = quantizeWith(activationFormat, gaussianValues(count, 22, 3));
    const wValues = dequantizeWith(format, w, count);
    const aValues = dequantizeWith(activationFormat, a, count);
    let exact = 0;
    let magnitude = 0;
    for (let i = 0; i < count; i++) {
      exact += wValues[i]! * aValues[i]!;
      magnitude += Math.abs(wValues[i]! * aValues[i]!);
    }
    // Q4_1/Q5_1 add m_w * s_a per block, and s_a = fp16(d_a * sum(q_a)) is rounded: allow that.
    let storedSumError = 0;
    if (activationFormat === q8_1Format) {
      for (let block = 0; block < count / 32; block++) {
        const blockSum = aValues.subarray(32 * block, 32 * block + 32).reduce((s, v) => s + v, 0);
        storedSumError += Math.abs(readFp16(w, block * format.info.typeSize + 2)) * Math.abs(blockSum) * FP16_UNIT;
      }
    }
    const accumulation = (count / 32 + 4) * 2 ** -24 * magnitude;
    const result = format.vecDot!(count, w, 0, a, 0);
    expect(Math.abs(result - exact)).toBeLessThanOrEqual(accumulation + storedSumError);
    // Offsets: the second half of each operand alone.
    const half = count / 2;
    const secondHalf = format.vecDot!(half, w, (half / format.info.blockSize) * format.info.typeSize, a, (half / activationFormat.info.blockSize) * activationFormat.info.typeSize);
    let exactHalf = 0;
    for (let i = half; i < count; i++) exactHalf += wValues[i]! * aValues[i]!;
    expect(Math.abs(secondHalf - exactHalf)).toBeLessThanOrEqual(accumulation + storedSumError);
  });
});

describe('registration facts', () => {
  it('each format carries its ggml layout', () => {
    const pairs: Array<[BlockFormat, number]> = [
      [f32Format, GgmlType.F32],
      [f16Format, GgmlType.F16],
      [bf16Format, GgmlType.BF16],
      [q4_0Format, GgmlType.Q4_0],
      [q4_1Format, GgmlType.Q4_1],
      [q5_0Format, GgmlType.Q5_0],
      [q5_1Format, GgmlType.Q5_1],
      [q8_0Format, GgmlType.Q8_0],
      [q8_1Format, GgmlType.Q8_1],
    ];
    for (const [format, id] of pairs) expect(format.info.id).toBe(id);
    expect(q8_1Format.vecDot).toBeUndefined();
  });
});
