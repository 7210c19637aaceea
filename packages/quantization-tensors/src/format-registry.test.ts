import { describe, expect, it } from 'vitest';
import { QuantizationError, UnsupportedGgmlTypeError } from './errors.js';
import {
  blockFormat,
  byteLengthFor,
  dequantize,
  dequantizeInto,
  isSupportedGgmlType,
  quantize,
  supportedGgmlTypes,
} from './format-registry.js';
import { GgmlType, UnknownGgmlTypeError, allGgmlTypes } from './ggml-type.js';
import { gaussianValues } from './test-support/random.js';

/** Runs `action` and returns what it threw (failing the test if it did not throw). */
function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

function quantizationError(action: () => unknown): QuantizationError {
  const error = thrown(action);
  expect(error).toBeInstanceOf(QuantizationError);
  return error as QuantizationError;
}

describe('blockFormat', () => {
  it('serves every legacy and float type with matching layout facts', () => {
    for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q8_1]) {
      expect(blockFormat(type).info.id).toBe(type);
      expect(isSupportedGgmlType(type)).toBe(true);
    }
  });

  it('lists supported types in id order, each resolvable, and every known type is either supported or refused', () => {
    const supported = supportedGgmlTypes();
    expect(supported.map((info) => info.id)).toEqual([...supported.map((info) => info.id)].sort((a, b) => a - b));
    for (const info of allGgmlTypes()) {
      if (supported.some((s) => s.id === info.id)) {
        expect(blockFormat(info.id).info).toEqual(info);
        // Every vecDotType names a registered format, so matVec can quantize activations.
        expect(isSupportedGgmlType(blockFormat(info.id).vecDotType)).toBe(true);
      } else {
        const error = thrown(() => blockFormat(info.id));
        expect(error).toBeInstanceOf(UnsupportedGgmlTypeError);
        expect((error as UnsupportedGgmlTypeError).typeName).toBe(info.name);
        expect((error as UnsupportedGgmlTypeError).code).toBe('UNSUPPORTED_TYPE');
        expect((error as Error).message).toContain(info.name);
      }
    }
  });

  it('refuses known types without an implementation by name (I32, IQ2_XXS)', () => {
    for (const type of [GgmlType.I32, GgmlType.IQ2_XXS]) {
      const error = thrown(() => blockFormat(type)) as UnsupportedGgmlTypeError;
      expect(error).toBeInstanceOf(UnsupportedGgmlTypeError);
      expect(error.typeId).toBe(type);
      expect(isSupportedGgmlType(type)).toBe(false);
    }
  });

  it('raises UnknownGgmlTypeError for removed, future and invalid ids', () => {
    for (const id of [4, 5, 31, 36, 1000, -1, 2.5]) {
      const error = thrown(() => blockFormat(id));
      expect(error).toBeInstanceOf(UnknownGgmlTypeError);
      expect((error as UnknownGgmlTypeError).typeId).toBe(id);
      expect((error as UnknownGgmlTypeError).code).toBe('UNKNOWN_TYPE');
      expect(() => dequantize(id, new Uint8Array(0), 0)).toThrow(UnknownGgmlTypeError);
      expect(() => quantize(id, new Float32Array(0))).toThrow(UnknownGgmlTypeError);
    }
  });
});

describe('quantize / dequantize', () => {
  it('round-trips through the registry and matches the format functions', () => {
    const values = gaussianValues(256, 9);
    for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q8_1]) {
      const bytes = quantize(type, values);
      expect(bytes.length).toBe(byteLengthFor(type, values.length));
      const restored = dequantize(type, bytes, values.length);
      const direct = new Float32Array(values.length);
      blockFormat(type).dequantize(bytes, 0, direct, 0, values.length);
      expect(Array.from(restored)).toEqual(Array.from(direct));
      const into = new Float32Array(values.length + 3);
      const padded = new Uint8Array(bytes.length + 5);
      padded.set(bytes, 5);
      dequantizeInto(type, padded, 5, into, 3, values.length);
      expect(Array.from(into.subarray(3))).toEqual(Array.from(restored));
    }
  });

  it('accepts zero weights', () => {
    expect(dequantize(GgmlType.Q4_0, new Uint8Array(0), 0).length).toBe(0);
    expect(quantize(GgmlType.Q4_0, new Float32Array(0)).length).toBe(0);
  });

  it('PARTIAL_BLOCK: a count that is not whole blocks', () => {
    const dequantizeError = quantizationError(() => dequantize(GgmlType.Q4_0, new Uint8Array(18), 31));
    expect(dequantizeError.code).toBe('PARTIAL_BLOCK');
    expect(dequantizeError.typeName).toBe('Q4_0');
    expect(quantizationError(() => quantize(GgmlType.Q8_0, new Float32Array(33))).code).toBe('PARTIAL_BLOCK');
    expect(quantizationError(() => byteLengthFor(GgmlType.Q5_1, 48)).code).toBe('PARTIAL_BLOCK');
  });

  it('INVALID_COUNT: negative or fractional counts and offsets', () => {
    expect(quantizationError(() => dequantize(GgmlType.Q4_0, new Uint8Array(18), -32)).code).toBe('INVALID_COUNT');
    expect(quantizationError(() => dequantize(GgmlType.F32, new Uint8Array(8), 1.5)).code).toBe('INVALID_COUNT');
    expect(quantizationError(() => dequantizeInto(GgmlType.F32, new Uint8Array(8), -4, new Float32Array(2), 0, 1)).code).toBe('INVALID_COUNT');
    expect(quantizationError(() => dequantizeInto(GgmlType.F32, new Uint8Array(8), 0, new Float32Array(2), 0.5, 1)).code).toBe('INVALID_COUNT');
  });

  it('BYTES_NOT_WHOLE_BLOCKS names the byte offset of the partial block', () => {
    const error = quantizationError(() => dequantize(GgmlType.Q4_0, new Uint8Array(19), 32));
    expect(error.code).toBe('BYTES_NOT_WHOLE_BLOCKS');
    expect(error.byteOffset).toBe(18);
  });

  it('BYTES_TOO_SHORT / BYTES_TOO_LONG when the blocks do not match the count', () => {
    const short = quantizationError(() => dequantize(GgmlType.Q4_0, new Uint8Array(18), 64));
    expect(short.code).toBe('BYTES_TOO_SHORT');
    expect(short.byteOffset).toBe(18);
    expect(quantizationError(() => dequantize(GgmlType.Q4_0, new Uint8Array(36), 32)).code).toBe('BYTES_TOO_LONG');
    const intoShort = quantizationError(() => dequantizeInto(GgmlType.Q8_0, new Uint8Array(68), 1, new Float32Array(64), 0, 64));
    expect(intoShort.code).toBe('BYTES_TOO_SHORT');
    expect(intoShort.byteOffset).toBe(1);
  });

  it('OUTPUT_TOO_SHORT, and nothing is written', () => {
    const out = new Float32Array(40).fill(9);
    const error = quantizationError(() => dequantizeInto(GgmlType.Q8_0, new Uint8Array(68), 0, out, 10, 64));
    expect(error.code).toBe('OUTPUT_TOO_SHORT');
    expect(out.every((v) => v === 9)).toBe(true);
  });

  it('NON_FINITE_INPUT names the first NaN or infinite value, for every type', () => {
    for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.Q4_0, GgmlType.Q8_1]) {
      const values = new Float32Array(64);
      values[37] = Infinity;
      values[40] = NaN;
      const error = quantizationError(() => quantize(type, values));
      expect(error.code).toBe('NON_FINITE_INPUT');
      expect(error.index).toBe(37);
    }
  });

  it('NOT_REPRESENTABLE when a finite value overflows the format', () => {
    const f16 = quantizationError(() => quantize(GgmlType.F16, new Float32Array([1, 70000])));
    expect(f16.code).toBe('NOT_REPRESENTABLE');
    expect(f16.index).toBe(1);
    expect(quantizationError(() => quantize(GgmlType.BF16, new Float32Array([3.4028234663852886e38]))).code).toBe('NOT_REPRESENTABLE');
    const blocks = new Float32Array(64);
    blocks[40] = 1e7; // Q8_0 scale 1e7 / 127 > 65504 (fp16 max) in the second block
    const q8 = quantizationError(() => quantize(GgmlType.Q8_0, blocks));
    expect(q8.code).toBe('NOT_REPRESENTABLE');
    expect(q8.index).toBe(32);
    expect(q8.byteOffset).toBe(34);
    // Just inside the range is fine.
    expect(() => quantize(GgmlType.F16, new Float32Array([65504]))).not.toThrow();
  });

  it('UnsupportedGgmlTypeError for quantize of a type without a quantizer', () => {
    const withoutQuantizer = supportedGgmlTypes().filter((info) => blockFormat(info.id).quantize === undefined);
    for (const info of withoutQuantizer) {
      const error = thrown(() => quantize(info.id, new Float32Array(info.blockSize))) as UnsupportedGgmlTypeError;
      expect(error).toBeInstanceOf(UnsupportedGgmlTypeError);
      expect(error.operation).toBe('quantize');
    }
    const unsupported = thrown(() => quantize(GgmlType.IQ2_XXS, new Float32Array(256))) as UnsupportedGgmlTypeError;
    expect(unsupported).toBeInstanceOf(UnsupportedGgmlTypeError);
    expect(unsupported.typeName).toBe('IQ2_XXS');
  });
});
