import { describe, expect, it } from 'vitest';
import { ByteWriter } from './binary.js';
import { MetadataValueType as T } from './metadata.js';
import { encodeFixedWidthValue } from './metadata-codec.js';

/** The bytes `encodeFixedWidthValue` writes for one value, or the problem it reports. */
function encoded(type: number, value: unknown): number[] | string {
  const w = new ByteWriter();
  const problem = encodeFixedWidthValue(w, type, value);
  if (problem !== undefined) {
    expect(w.length, 'nothing is written for a refused value').toBe(0);
    return problem;
  }
  return [...w.toBytes()];
}

describe('encodeFixedWidthValue (shared by the SMQ and GGUF encoders)', () => {
  it('writes every fixed-width type little-endian at its width', () => {
    expect(encoded(T.UINT8, 255)).toEqual([255]);
    expect(encoded(T.INT8, -1)).toEqual([255]);
    expect(encoded(T.UINT16, 0x1234)).toEqual([0x34, 0x12]);
    expect(encoded(T.INT16, -2)).toEqual([0xfe, 0xff]);
    expect(encoded(T.UINT32, 0xdeadbeef)).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(encoded(T.INT32, -0x80000000)).toEqual([0, 0, 0, 0x80]);
    expect(encoded(T.UINT64, (1n << 64n) - 1n)).toEqual(Array(8).fill(255));
    expect(encoded(T.INT64, -(1n << 63n))).toEqual([0, 0, 0, 0, 0, 0, 0, 0x80]);
    expect(encoded(T.FLOAT32, 1)).toEqual([0, 0, 0x80, 0x3f]);
    expect(encoded(T.FLOAT64, -2)).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0]);
    expect(encoded(T.BOOL, true)).toEqual([1]);
    expect(encoded(T.BOOL, false)).toEqual([0]);
  });

  it('refuses values that are not of the type, naming the type and its range', () => {
    expect(encoded(T.UINT8, 256)).toBe('256 is not a UINT8 (integer in [0, 255])');
    expect(encoded(T.INT16, 1.5)).toMatch(/^1.5 is not a INT16/);
    expect(encoded(T.UINT32, 7n)).toMatch(/^7 is not a UINT32/);
    expect(encoded(T.UINT64, 1)).toMatch(/^1 is not a UINT64 \(bigint in/);
    expect(encoded(T.INT64, 1n << 63n)).toMatch(/is not a INT64/);
    expect(encoded(T.FLOAT32, '1')).toBe('expected a number for FLOAT32, got string');
    expect(encoded(T.BOOL, 1)).toBe('expected a boolean, got number');
    expect(encoded(T.STRING, 'x')).toBe('STRING is not a fixed-width value type');
    expect(encoded(T.ARRAY, [])).toBe('ARRAY is not a fixed-width value type');
  });
});
