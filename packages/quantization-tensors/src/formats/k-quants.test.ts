/**
 * k-quant and IQ formats on their own: quantizer quality, the integer dot products against exact
 * float64 arithmetic, Q8_K's layout, the IQ tables, and the tensor classes.
 * (Bit-exactness against llama.cpp is in k-quant-fixtures.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BlockFormat } from '../block-format.js';
import { QuantizationError } from '../errors.js';
import { createWeightTensor, quantize } from '../format-registry.js';
import { GgmlType } from '../ggml-type.js';
import { f32ToFp16 } from '../half.js';
import { dequantizeWith, quantizeWith } from '../test-support/block-formats.js';
import { gaussianValues, randomBytes } from '../test-support/random.js';
import { elementCount, listRefFixtures, readRefTensors, tensorBytes, vendoredFixturesDir } from '../test-support/reference-fixtures.js';
import { IQ3S_GRID, IQ3XXS_GRID, KSIGNS_IQ2XS, KVALUES_IQ4NL } from './iq-grids.js';
import { IQ3_STensor, iq3_sFormat } from './iq3_s.js';
import { IQ3_XXSTensor, iq3_xxsFormat } from './iq3_xxs.js';
import { IQ4_NLTensor, iq4_nlFormat } from './iq4_nl.js';
import { IQ4_XSTensor, iq4_xsFormat } from './iq4_xs.js';
import { nearestInt } from './k-quant-shared.js';
import { Q2_KTensor, q2_kFormat } from './q2_k.js';
import { Q3_KTensor, q3_kFormat } from './q3_k.js';
import { Q4_KTensor, q4_kFormat } from './q4_k.js';
import { Q5_KTensor, q5_kFormat } from './q5_k.js';
import { Q6_KTensor, q6_kFormat } from './q6_k.js';
import { q8_0Format } from './q8_0.js';
import { q8_kFormat } from './q8_k.js';

const kQuants = [q2_kFormat, q3_kFormat, q4_kFormat, q5_kFormat, q6_kFormat];
const weightFormats = [...kQuants, iq3_xxsFormat, iq3_sFormat, iq4_nlFormat, iq4_xsFormat];

function rms(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return Math.sqrt(sum / values.length);
}

function rmse(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum / a.length);
}

function partnerOf(format: BlockFormat): BlockFormat {
  return format.vecDotType === GgmlType.Q8_0 ? q8_0Format : q8_kFormat;
}

describe('nearestInt (ggml nearest_int)', () => {
  it('rounds half to even, like adding 1.5 * 2^23 in float32', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999998, 3.5000002].map(nearestInt)).toEqual([0, 2, 2, 0, -2, -2, 2, 4]);
  });

  it('equals the float32 bit trick everywhere, including outside its asserted range', () => {
    const scratch = new Float32Array(1);
    const bits = new Int32Array(scratch.buffer);
    const bitTrick = (v: number): number => {
      scratch[0] = v + 12582912;
      return (bits[0]! & 0x7fffff) - 0x400000;
    };
    const values = [4194303, 4194303.5, -4194303.5, 4194304, 1e10, -1e10, Infinity, -Infinity, NaN, 8388607.5];
    for (const v of gaussianValues(20000, 3, 1000)) values.push(v, Math.fround(v / 1000), Math.fround(v) + 0.5);
    for (const v of values) expect(nearestInt(Math.fround(v)), `nearestInt(${v})`).toBe(bitTrick(Math.fround(v)));
  });
});

/**
 * llama.cpp's tests/test-quantize-fns.cpp on its own data (0.1 + 2 cos(i), 4096 values): total
 * error sqrt(sum diff^2) / n below 0.002 (0.004 for Q3_K, 0.0075 for Q2_K), and the dot product
 * with the second series (offset 1) quantized to the partner type within 0.02 * n (0.04 for Q2_K).
 */
describe("llama.cpp's quantization function criteria", () => {
  const testSize = 32 * 128;
  const series = (offset: number): Float32Array =>
    Float32Array.from({ length: testSize }, (_, i) => 0.1 + 2 * Math.fround(Math.cos(i + offset)));
  const data = series(0);
  const data2 = series(1);
  const maxQuantizationError = new Map<BlockFormat, number>([
    [q2_kFormat, 0.0075],
    [q3_kFormat, 0.004],
    [q4_kFormat, 0.002],
    [q5_kFormat, 0.002],
    [q6_kFormat, 0.002],
    [q8_kFormat, 0.002],
    [iq4_nlFormat, 0.002],
    [iq4_xsFormat, 0.002],
  ]);

  it.each([...maxQuantizationError].map(([format, bound]) => [format.info.name, format, bound] as const))(
    '%s total quantization error',
    (_name, format, bound) => {
      const roundTrip = dequantizeWith(format, quantizeWith(format, data), testSize);
      expect(rmse(data, roundTrip) * Math.sqrt(testSize) / testSize).toBeLessThan(bound);
    },
  );

  it.each([...kQuants, iq4_nlFormat, iq4_xsFormat].map((format) => [format.info.name, format] as const))('%s dot product error', (_name, format) => {
    let exact = 0;
    for (let i = 0; i < testSize; i++) exact += data[i]! * data2[i]!;
    const result = format.vecDot!(testSize, quantizeWith(format, data), 0, quantizeWith(partnerOf(format), data2), 0);
    expect(Math.abs(result - exact) / testSize).toBeLessThan(format === q2_kFormat ? 0.04 : 0.02);
  });
});

/**
 * Round-trip error on seeded Gaussian data, and on weights llama.cpp already quantized (the vendored
 * fixtures' dequantized tensors, re-quantized by us). Bound: plain uniform rounding over each
 * sub-block's range, step / sqrt(12) with step = range / (levels - 1) and range ~ 5 sigma for 16-32
 * Gaussian values. The scale searches must do at least as well. (Q8_K has no search: it is plain
 * rounding, bounded per element in its own tests below.)
 */
describe('round-trip error is within uniform-rounding bounds', () => {
  const uniformBound = (levels: number, rangeInSigmas: number): number => rangeInSigmas / (levels - 1) / Math.sqrt(12);
  const cases: Array<[string, BlockFormat, number]> = [
    ['Q2_K', q2_kFormat, uniformBound(4, 5)],
    ['Q3_K', q3_kFormat, uniformBound(8, 5)],
    ['Q4_K', q4_kFormat, uniformBound(16, 5)],
    ['Q5_K', q5_kFormat, uniformBound(32, 5)],
    ['Q6_K', q6_kFormat, uniformBound(64, 5)],
    ['IQ4_NL', iq4_nlFormat, uniformBound(16, 5)],
    ['IQ4_XS', iq4_xsFormat, uniformBound(16, 5)],
  ];

  it.each(cases)('%s on N(0, 0.02^2) data', (_name, format, bound) => {
    const values = gaussianValues(256 * 64, 20250220, 0.02);
    const roundTrip = dequantizeWith(format, quantizeWith(format, values), values.length);
    expect(rmse(values, roundTrip) / rms(values)).toBeLessThan(bound);
  });

  it('error shrinks with every added bit', () => {
    const values = gaussianValues(256 * 64, 7, 1);
    const errors = [q2_kFormat, q3_kFormat, q4_kFormat, q5_kFormat, q6_kFormat, q8_kFormat].map((format) =>
      rmse(values, dequantizeWith(format, quantizeWith(format, values), values.length)),
    );
    for (let i = 1; i < errors.length; i++) expect(errors[i]).toBeLessThan(errors[i - 1]!);
  });

  it.each(cases)('%s on dequantized llama.cpp weights (vendored synthetic-Q4_K_M token_embd, Q6_K)', (_name, format, bound) => {
    const fixture = listRefFixtures(vendoredFixturesDir).find((f) => f.id === 'synthetic/synthetic-Q4_K_M')!;
    const tensor = readRefTensors(fixture.refPath).find((t) => t.name === 'token_embd.weight')!;
    const bytes = tensorBytes(new Uint8Array(readFileSync(fixture.ggufPath!)), tensor);
    const weights = dequantizeWith(q6_kFormat, bytes, elementCount(tensor));
    const roundTrip = dequantizeWith(format, quantizeWith(format, weights), weights.length);
    expect(rmse(weights, roundTrip) / rms(weights)).toBeLessThan(bound);
  });
});

describe('Q8_K activation blocks', () => {
  const values = gaussianValues(512, 99, 3);
  const bytes = quantizeWith(q8_kFormat, values);
  const view = new DataView(bytes.buffer);

  it('stores d as float32 and maps the largest magnitude to -127 or 127', () => {
    for (let block = 0; block < 2; block++) {
      const d = view.getFloat32(block * 292, true);
      let max = 0;
      for (let j = 0; j < 256; j++) if (Math.abs(values[256 * block + j]!) > Math.abs(max)) max = values[256 * block + j]!;
      expect(d).toBe(Math.fround(1 / Math.fround(-127 / max)));
      const quants = Array.from({ length: 256 }, (_, j) => view.getInt8(block * 292 + 4 + j));
      expect(Math.max(...quants.map(Math.abs))).toBe(127);
    }
  });

  it('bsums are the int16 sums of each 16 quants', () => {
    for (let block = 0; block < 2; block++) {
      for (let group = 0; group < 16; group++) {
        let sum = 0;
        for (let k = 0; k < 16; k++) sum += view.getInt8(block * 292 + 4 + 16 * group + k);
        expect(view.getInt16(block * 292 + 260 + 2 * group, true)).toBe(sum);
      }
    }
  });

  it('dequantizes within half a step of the input, and all-zero blocks to zeros', () => {
    const roundTrip = dequantizeWith(q8_kFormat, bytes, 512);
    for (let i = 0; i < 512; i++) {
      const d = Math.abs(view.getFloat32(Math.floor(i / 256) * 292, true));
      expect(Math.abs(roundTrip[i]! - values[i]!)).toBeLessThanOrEqual(d / 2 + 1e-6 * d);
    }
    const zeros = quantizeWith(q8_kFormat, new Float32Array(256));
    expect(zeros.every((b) => b === 0)).toBe(true);
  });
});

describe('IQ tables', () => {
  it('ksigns_iq2xs adds the parity bit: every entry has an even number of set bits', () => {
    for (let i = 0; i < 128; i++) {
      const entry = KSIGNS_IQ2XS[i]!;
      expect(entry & 127).toBe(i);
      let bits = 0;
      for (let b = 0; b < 8; b++) bits += (entry >> b) & 1;
      expect(bits % 2).toBe(0);
    }
  });

  it('grids have the documented sizes, magnitudes and strictly increasing entries', () => {
    const check = (grid: Uint32Array, size: number, magnitudes: number[]): void => {
      expect(grid.length).toBe(size);
      for (let i = 0; i < size; i++) {
        if (i > 0) expect(grid[i]).toBeGreaterThan(grid[i - 1]!);
        for (let k = 0; k < 4; k++) expect(magnitudes).toContain((grid[i]! >>> (8 * k)) & 0xff);
      }
    };
    check(IQ3XXS_GRID, 256, [4, 12, 20, 28, 36, 44, 52, 62]);
    check(IQ3S_GRID, 512, [1, 3, 5, 7, 9, 11, 13, 15]);
    expect(Array.from(KVALUES_IQ4NL)).toEqual([...KVALUES_IQ4NL].sort((a, b) => a - b));
    expect(KVALUES_IQ4NL.length).toBe(16);
  });
});

/**
 * Random block bytes are valid blocks of every one of these formats once the fp16 scale fields hold
 * sane values; the dot products must then equal the float64 dot of the dequantized weights with the
 * dequantized activations up to float32 rounding.
 */
describe('vecDot equals the float64 dot of dequantized operands', () => {
  // fp16 scale fields per format (byte offsets within a block).
  const scaleFields = new Map<BlockFormat, number[]>([
    [q2_kFormat, [80, 82]],
    [q3_kFormat, [108]],
    [q4_kFormat, [0, 2]],
    [q5_kFormat, [0, 2]],
    [q6_kFormat, [208]],
    [iq3_xxsFormat, [0]],
    [iq3_sFormat, [0]],
    [iq4_nlFormat, [0]],
    [iq4_xsFormat, [0]],
  ]);
  const count = 256 * 8;

  function randomBlocks(format: BlockFormat, seed: number): Uint8Array {
    const { blockSize, typeSize } = format.info;
    const bytes = randomBytes((count / blockSize) * typeSize, seed);
    const scales = gaussianValues(count / blockSize * 2, seed + 1, 1e-3);
    for (let block = 0; block < count / blockSize; block++) {
      for (const [k, field] of scaleFields.get(format)!.entries()) {
        const bits = f32ToFp16(Math.abs(scales[2 * block + k]!) + 1e-4);
        bytes[block * typeSize + field] = bits & 0xff;
        bytes[block * typeSize + field + 1] = bits >> 8;
      }
    }
    return bytes;
  }

  it.each(weightFormats.map((format) => [format.info.name, format] as const))('%s', (_name, format) => {
    for (let seed = 1; seed <= 4; seed++) {
      const weights = randomBlocks(format, 100 * seed);
      const partner = partnerOf(format);
      const activation = quantizeWith(partner, gaussianValues(count, 100 * seed + 50, 2));
      const w = dequantizeWith(format, weights, count);
      const a = dequantizeWith(partner, activation, count);
      let exact = 0;
      let magnitude = 0;
      for (let i = 0; i < count; i++) {
        exact += w[i]! * a[i]!;
        magnitude += Math.abs(w[i]! * a[i]!);
      }
      const result = format.vecDot!(count, weights, 0, activation, 0);
      // Integer sums are exact; what remains is float32 rounding of the dequantized weights and of
      // the per-block scale products and sums: a few units of 2^-24 relative to sum |w a|.
      expect(Math.abs(result - exact)).toBeLessThanOrEqual(2 ** -22 * magnitude);
    }
  });

  it('reads weights and activations at their byte offsets', () => {
    const weights = randomBlocks(q4_kFormat, 5);
    const activation = quantizeWith(q8_kFormat, gaussianValues(count, 6));
    const shiftedW = new Uint8Array(weights.length + 3);
    shiftedW.set(weights, 3);
    const shiftedA = new Uint8Array(activation.length + 7);
    shiftedA.set(activation, 7);
    expect(q4_kFormat.vecDot!(count, shiftedW, 3, shiftedA, 7)).toBe(q4_kFormat.vecDot!(count, weights, 0, activation, 0));
  });
});

describe('tensor classes', () => {
  const classes = [
    [GgmlType.Q2_K, Q2_KTensor, q2_kFormat],
    [GgmlType.Q3_K, Q3_KTensor, q3_kFormat],
    [GgmlType.Q4_K, Q4_KTensor, q4_kFormat],
    [GgmlType.Q5_K, Q5_KTensor, q5_kFormat],
    [GgmlType.Q6_K, Q6_KTensor, q6_kFormat],
    [GgmlType.IQ3_XXS, IQ3_XXSTensor, iq3_xxsFormat],
    [GgmlType.IQ3_S, IQ3_STensor, iq3_sFormat],
    [GgmlType.IQ4_NL, IQ4_NLTensor, iq4_nlFormat],
    [GgmlType.IQ4_XS, IQ4_XSTensor, iq4_xsFormat],
  ] as const;

  it.each(classes.map(([type, Tensor, format]) => [format.info.name, type, Tensor, format] as const))(
    '%s: createWeightTensor builds the class; matVec = vecDot with quantized activations',
    (_name, type, Tensor, format) => {
      const rows = 3;
      const cols = 512;
      const partner = partnerOf(format);
      const data = new Uint8Array((rows * cols / format.info.blockSize) * format.info.typeSize);
      // Real weights where we have a quantizer; otherwise (IQ3) random bytes with a small fp16 d.
      if (format.quantize !== undefined) data.set(quantizeWith(format, gaussianValues(rows * cols, 11, 0.05)));
      else data.set(randomBytes(data.length, 12).map((b, i) => (i % format.info.typeSize < 2 ? [0x00, 0x1c][i % 2]! : b)));
      const tensor = createWeightTensor(type, data, [cols, rows]);
      expect(tensor).toBeInstanceOf(Tensor);
      const x = gaussianValues(cols, 13);
      const y = new Float32Array(rows);
      tensor.matVec(x, y);
      const activation = quantizeWith(partner, x);
      const rowBytes = data.length / rows;
      for (let r = 0; r < rows; r++) {
        expect(y[r]).toBe(Math.fround(format.vecDot!(cols, data, r * rowBytes, activation, 0)));
      }
    },
  );
});

describe('registry validation for k-quants', () => {
  it('rejects a partial block and non-finite input with typed errors', () => {
    expect(() => quantize(GgmlType.Q4_K, new Float32Array(100))).toThrow(QuantizationError);
    try {
      quantize(GgmlType.Q6_K, new Float32Array(100));
    } catch (error) {
      expect((error as QuantizationError).code).toBe('PARTIAL_BLOCK');
    }
    const values = new Float32Array(256);
    values[37] = Number.NaN;
    try {
      quantize(GgmlType.Q2_K, values);
      expect.unreachable();
    } catch (error) {
      expect((error as QuantizationError).code).toBe('NON_FINITE_INPUT');
      expect((error as QuantizationError).index).toBe(37);
    }
  });
});
