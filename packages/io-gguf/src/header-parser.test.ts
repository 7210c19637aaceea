import { MetadataValueType } from '@smallmind/io-smq';
import { GgmlType, UnknownGgmlTypeError } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import { GgufFormatError, GGUF_MAX_ARRAY_NESTING, parseGgufHeader } from './index.js';
import type { GgufFormatErrorCode } from './index.js';
import type { ByteWriter } from './encoder.js';
import { craftGguf, f32Tensor, kv } from './test-support/craft.js';
import type { CraftKv } from './test-support/craft.js';

function formatError(bytes: Uint8Array, options?: Parameters<typeof parseGgufHeader>[1]): GgufFormatError {
  try {
    parseGgufHeader(bytes, options);
  } catch (error) {
    if (error instanceof GgufFormatError) return error;
    throw error;
  }
  throw new Error('expected a GgufFormatError, the file parsed');
}

function expectFormatError(bytes: Uint8Array, code: GgufFormatErrorCode, field?: string | RegExp, offset?: number): GgufFormatError {
  const error = formatError(bytes);
  expect(error.code, error.message).toBe(code);
  if (field !== undefined) expect(error.field).toMatch(field);
  if (offset !== undefined) expect(error.offset).toBe(offset);
  return error;
}

// Header of a v3 file: magic 4 + version 4 + tensor_count 8 + kv_count 8.
const FIRST_KV = 24;

describe('parseGgufHeader: valid files', () => {
  it('reads all 13 value types, nested arrays, 64-bit extremes as bigint', () => {
    const kvs: CraftKv[] = [
      kv.raw('u8', MetadataValueType.UINT8, (w) => w.u8(255)),
      kv.raw('i8', MetadataValueType.INT8, (w) => w.i8(-128)),
      kv.raw('u16', MetadataValueType.UINT16, (w) => w.u16(65535)),
      kv.raw('i16', MetadataValueType.INT16, (w) => w.i16(-32768)),
      kv.u32('u32', 4294967295),
      kv.raw('i32', MetadataValueType.INT32, (w) => w.i32(-2147483648)),
      kv.raw('f32', MetadataValueType.FLOAT32, (w) => w.f32(0.1)),
      kv.raw('bool', MetadataValueType.BOOL, (w) => w.u8(1)),
      kv.str('str', 'héllo 🍎'),
      kv.u64('u64', (1n << 64n) - 1n),
      kv.raw('i64', MetadataValueType.INT64, (w) => w.i64(-(1n << 63n))),
      kv.raw('f64', MetadataValueType.FLOAT64, (w) => w.f64(Math.PI)),
      kv.raw('arr', MetadataValueType.ARRAY, (w) => w.u32(MetadataValueType.ARRAY).u64(2)
        .u32(MetadataValueType.INT16).u64(2).i16(-1).i16(7)
        .u32(MetadataValueType.STRING).u64(1).string('x')),
      kv.raw('empty', MetadataValueType.ARRAY, (w) => w.u32(MetadataValueType.UINT64).u64(0)),
    ];
    const header = parseGgufHeader(craftGguf({ kvs }));
    const m = header.metadata;
    expect(m.keys()).toEqual(kvs.map((k) => k.key));
    expect([m.get('u8')?.value, m.get('i8')?.value, m.get('u16')?.value, m.get('i16')?.value]).toEqual([255, -128, 65535, -32768]);
    expect([m.get('u32')?.value, m.get('i32')?.value]).toEqual([4294967295, -2147483648]);
    expect(m.get('f32')?.value).toBe(Math.fround(0.1));
    expect(m.getBool('bool')).toBe(true);
    expect(m.getString('str')).toBe('héllo 🍎');
    expect(m.get('u64')).toEqual({ type: MetadataValueType.UINT64, value: (1n << 64n) - 1n });
    expect(m.get('i64')).toEqual({ type: MetadataValueType.INT64, value: -(1n << 63n) });
    expect(m.getFloat('f64')).toBe(Math.PI);
    expect(m.getArray('arr')).toEqual({
      elementType: MetadataValueType.ARRAY,
      values: [{ elementType: MetadataValueType.INT16, values: [-1, 7] }, { elementType: MetadataValueType.STRING, values: ['x'] }],
    });
    expect(m.getArray('empty')).toEqual({ elementType: MetadataValueType.UINT64, values: [] });
    expect(header.alignment).toBe(32);
    expect(header.dataOffset % 32).toBe(0);
  });

  it('reads tensor infos with absolute offsets and byte lengths, honouring general.alignment', () => {
    const bytes = craftGguf({
      kvs: [kv.u32('general.alignment', 64)],
      alignment: 64,
      tensors: [
        { name: 'a', dims: [32, 3], type: GgmlType.Q4_0, offset: 0 },
        { name: 'b', dims: [5], type: GgmlType.F32, offset: 64 },
        { name: 'scalar', dims: [], type: GgmlType.F16, offset: 128 },
      ],
    });
    const h = parseGgufHeader(bytes);
    expect(h.alignment).toBe(64);
    expect(h.dataOffset % 64).toBe(0);
    expect(h.tensors).toEqual([
      { name: 'a', type: GgmlType.Q4_0, shape: [32, 3], offset: h.dataOffset, byteLength: 54 },
      { name: 'b', type: GgmlType.F32, shape: [5], offset: h.dataOffset + 64, byteLength: 20 },
      { name: 'scalar', type: GgmlType.F16, shape: [], offset: h.dataOffset + 128, byteLength: 2 },
    ]);
  });

  it('reads GGUF v2 (u64 sizes) and v1 (u32 sizes)', () => {
    for (const version of [1, 2]) {
      const bytes = craftGguf({ version, kvs: version === 1 ? [] : [kv.str('general.name', 'v2')], tensors: [f32Tensor('t', [4, 2], 0)] });
      const h = parseGgufHeader(bytes);
      expect(h.version).toBe(version);
      expect(h.tensors[0]).toMatchObject({ name: 't', shape: [4, 2], byteLength: 32 });
    }
  });

  it('handles offsets beyond 4 GiB (u64 offsets, a prefix of a large file)', () => {
    const fiveGiB = 5 * 2 ** 30;
    const bytes = craftGguf({ tensors: [f32Tensor('small', [8], 0), f32Tensor('far', [1024, 1024], fiveGiB)], dataBytes: 0 });
    const h = parseGgufHeader(bytes, { fileSize: h0(bytes) + fiveGiB + 4 * 2 ** 20 });
    expect(h.tensors[1]!.offset).toBe(h.dataOffset + fiveGiB);
    expect(h.tensors[1]!.offset).toBeGreaterThan(2 ** 32);
  });
});

/** Header length of a crafted file with no data bytes (its own length). */
function h0(bytes: Uint8Array): number {
  return bytes.length;
}

describe('parseGgufHeader: each invalid input gets a typed GgufFormatError', () => {
  const valid = (): Uint8Array => craftGguf({ kvs: [kv.str('general.name', 'x')], tensors: [f32Tensor('t', [4], 0)] });

  it('bad magic', () => {
    const bytes = valid();
    bytes[3] = 0x47; // "GGUG"
    expectFormatError(bytes, 'BAD_MAGIC', 'header.magic', 0);
  });

  it('version 0, unsupported version, byte-swapped version', () => {
    expectFormatError(craftGguf({ version: 0 }), 'INVALID_VERSION', 'header.version', 4);
    expect(expectFormatError(craftGguf({ version: 4 }), 'UNSUPPORTED_VERSION', 'header.version', 4).message).toContain('4');
    expect(expectFormatError(craftGguf({ version: 0x03000000 }), 'WRONG_ENDIANNESS', 'header.version', 4).message).toContain('version 3');
  });

  it('counts larger than the file could hold (and never allocates by them)', () => {
    expectFormatError(craftGguf({ tensorCount: 1n << 40n }), 'COUNT_TOO_LARGE', 'header.tensor_count', 8);
    expectFormatError(craftGguf({ tensorCount: (1n << 64n) - 1n }), 'COUNT_TOO_LARGE', 'header.tensor_count', 8);
    expectFormatError(craftGguf({ kvCount: 1n << 62n }), 'COUNT_TOO_LARGE', 'header.metadata_kv_count', 16);
    // Each count alone fits the remaining bytes, both together do not.
    const both = craftGguf({ dataBytes: 96 });
    new DataView(both.buffer).setBigUint64(8, 3n, true);
    new DataView(both.buffer).setBigUint64(16, 3n, true);
    expectFormatError(both, 'COUNT_TOO_LARGE', 'header.tensor_count');
    const arr = craftGguf({ kvs: [kv.raw('a', MetadataValueType.ARRAY, (w) => w.u32(MetadataValueType.UINT32).u64(1n << 60n))] });
    expectFormatError(arr, 'COUNT_TOO_LARGE', 'metadata["a"].count', FIRST_KV + 8 + 1 + 4 + 4);
  });

  it('duplicate keys and duplicate tensor names', () => {
    const dupKey = craftGguf({ kvs: [kv.u32('k', 1), kv.u32('k', 2)] });
    expectFormatError(dupKey, 'DUPLICATE_KEY', 'metadata["k"]', FIRST_KV + 8 + 1 + 4 + 4);
    const dupTensor = craftGguf({ tensors: [f32Tensor('t', [8], 0), f32Tensor('t', [8], 32)] });
    expectFormatError(dupTensor, 'DUPLICATE_TENSOR_NAME', 'tensors["t"].name');
  });

  it('general.alignment not a UINT32, not a power of two, or zero', () => {
    expectFormatError(craftGguf({ kvs: [kv.u64('general.alignment', 32)] }), 'INVALID_ALIGNMENT', 'metadata["general.alignment"]', FIRST_KV);
    expectFormatError(craftGguf({ kvs: [kv.u32('general.alignment', 48)] }), 'INVALID_ALIGNMENT');
    expectFormatError(craftGguf({ kvs: [kv.u32('general.alignment', 0)] }), 'INVALID_ALIGNMENT');
  });

  it('over-long tensor names (ggml allows 63 bytes)', () => {
    expect(parseGgufHeader(craftGguf({ tensors: [f32Tensor('n'.repeat(63), [1], 0)] })).tensors[0]!.name).toHaveLength(63);
    expectFormatError(craftGguf({ tensors: [f32Tensor('n'.repeat(64), [1], 0)] }), 'NAME_TOO_LONG', 'tensors[0].name', FIRST_KV);
  });

  it('n_dims > 4, zero and negative dimensions', () => {
    expectFormatError(craftGguf({ tensors: [f32Tensor('t', [1, 1, 1, 1, 1], 0)] }), 'TOO_MANY_DIMS', 'tensors["t"].n_dims', FIRST_KV + 9);
    expectFormatError(craftGguf({ tensors: [f32Tensor('t', [4, 0], 0)] }), 'INVALID_DIMENSION', 'tensors["t"].shape[1]', FIRST_KV + 9 + 4 + 8);
    const negative = expectFormatError(craftGguf({ tensors: [{ name: 't', dims: [(1n << 64n) - 1n], type: 0, offset: 0 }] }), 'INVALID_DIMENSION');
    expect(negative.message).toContain('-1');
  });

  it('unknown tensor type ids, naming the id', () => {
    for (const id of [4, 31, 1000]) {
      const error = expectFormatError(craftGguf({ tensors: [{ name: 't', dims: [32], type: id, offset: 0 }] }), 'UNKNOWN_TENSOR_TYPE', 'tensors["t"].type', FIRST_KV + 9 + 4 + 8);
      expect(error.message).toContain(`type id ${id}`);
      expect(error.cause).toBeInstanceOf(UnknownGgmlTypeError);
    }
  });

  it('unknown metadata value types, invalid BOOL bytes, invalid UTF-8', () => {
    expectFormatError(craftGguf({ kvs: [kv.raw('k', 13, (w) => w.u8(0))] }), 'UNKNOWN_VALUE_TYPE', 'metadata["k"].type');
    expectFormatError(craftGguf({ kvs: [kv.raw('k', MetadataValueType.ARRAY, (w) => w.u32(99).u64(0))] }), 'UNKNOWN_VALUE_TYPE', 'metadata["k"].element_type');
    expectFormatError(craftGguf({ kvs: [kv.raw('k', MetadataValueType.BOOL, (w) => w.u8(2))] }), 'INVALID_BOOL', 'metadata["k"]');
    expectFormatError(craftGguf({ kvs: [kv.raw('k', MetadataValueType.STRING, (w) => w.u64(2).u8(0xc3).u8(0x28))] }), 'INVALID_UTF8', 'metadata["k"]');
  });

  it('row length not a multiple of the block size', () => {
    const error = expectFormatError(craftGguf({ tensors: [{ name: 'q', dims: [33, 2], type: GgmlType.Q4_0, offset: 0 }] }), 'ROW_NOT_BLOCK_ALIGNED', 'tensors["q"].shape[0]');
    expect(error.message).toContain('32');
  });

  it('element count or byte size beyond 2^53', () => {
    expectFormatError(craftGguf({ tensors: [f32Tensor('t', [2 ** 31, 2 ** 31, 2 ** 31], 0)] }), 'SIZE_OVERFLOW', 'tensors["t"].shape[1]');
    expectFormatError(craftGguf({ tensors: [f32Tensor('t', [2 ** 26, 2 ** 26], 0)] }), 'SIZE_OVERFLOW', 'tensors["t"].shape');
  });

  it('tensor data outside the file, overlapping, or misaligned', () => {
    const outside = craftGguf({ tensors: [f32Tensor('t', [16], 0)], dataBytes: 32 });
    expectFormatError(outside, 'TENSOR_OUT_OF_BOUNDS', 'tensors["t"].offset', FIRST_KV + 9 + 4 + 8 + 4);
    expectFormatError(craftGguf({ tensors: [{ name: 't', dims: [1], type: 0, offset: 1n << 60n }] }), 'TENSOR_OUT_OF_BOUNDS');
    const overlap = craftGguf({ tensors: [f32Tensor('a', [16], 0), f32Tensor('b', [8], 32)] });
    expectFormatError(overlap, 'TENSOR_OVERLAP', 'tensors["b"].offset');
    expectFormatError(craftGguf({ tensors: [f32Tensor('a', [4], 16)] }), 'OFFSET_NOT_ALIGNED', 'tensors["a"].offset');
  });

  it('strings longer than the remaining bytes', () => {
    const key = craftGguf({ kvs: [kv.u32('k', 1)] });
    new DataView(key.buffer).setBigUint64(FIRST_KV, 1n << 40n, true);
    expectFormatError(key, 'STRING_TOO_LONG', 'metadata[0].key', FIRST_KV);
    const value = craftGguf({ kvs: [kv.raw('k', MetadataValueType.STRING, (w) => w.u64(1000).u8(0x61))] });
    expectFormatError(value, 'STRING_TOO_LONG', 'metadata["k"]');
  });

  it('array nesting deeper than the cap', () => {
    const nested = (depth: number) => (w: ByteWriter) => {
      for (let d = 1; d < depth; d++) w.u32(MetadataValueType.ARRAY).u64(1);
      w.u32(MetadataValueType.UINT8).u64(1).u8(7);
    };
    const ok = parseGgufHeader(craftGguf({ kvs: [kv.raw('k', MetadataValueType.ARRAY, nested(GGUF_MAX_ARRAY_NESTING))] }));
    expect(ok.metadata.has('k')).toBe(true);
    expectFormatError(craftGguf({ kvs: [kv.raw('k', MetadataValueType.ARRAY, nested(GGUF_MAX_ARRAY_NESTING + 1))] }), 'NESTING_TOO_DEEP');
  });

  it('a header larger than maxHeaderBytes', () => {
    const bytes = craftGguf({ kvs: [kv.str('big', 'x'.repeat(5000))] });
    expect(formatError(bytes, { maxHeaderBytes: 1024 }).code).toBe('HEADER_TOO_LARGE');
  });

  it('a file truncated anywhere', () => {
    const full = craftGguf({
      kvs: [
        kv.str('general.name', 'truncate me'),
        kv.raw('f64', MetadataValueType.FLOAT64, (w) => w.f64(1.5)),
        kv.raw('arr', MetadataValueType.ARRAY, (w) => w.u32(MetadataValueType.STRING).u64(2).string('ab').string('cd')),
      ],
      tensors: [f32Tensor('a', [4, 2], 0), { name: 'b', dims: [32], type: GgmlType.Q8_0, offset: 32 }],
    });
    const header = parseGgufHeader(full);
    const dataEnd = Math.max(...header.tensors.map((t) => t.offset + t.byteLength));
    expect(dataEnd).toBeLessThan(full.length);
    const headerCodes = new Set<string>();
    for (let length = 0; length < full.length; length++) {
      if (length >= dataEnd) {
        // Only trailing padding is missing: every tensor is still complete.
        expect(parseGgufHeader(full.subarray(0, length)).tensors).toHaveLength(2);
        continue;
      }
      const error = formatError(full.subarray(0, length));
      if (length < header.headerByteLength) {
        expect(['TRUNCATED', 'COUNT_TOO_LARGE', 'STRING_TOO_LONG'], `prefix ${length}: ${error.message}`).toContain(error.code);
        headerCodes.add(error.code);
      } else {
        expect(error.code, `prefix ${length}`).toBe('TENSOR_OUT_OF_BOUNDS');
      }
    }
    expect(headerCodes.has('TRUNCATED')).toBe(true);
  });

  it('a prefix shorter than a declared file size asks for more bytes rather than failing', () => {
    const full = valid();
    expect(() => parseGgufHeader(full.subarray(0, 30), { fileSize: full.length })).toThrow(/needs at least/);
    expect(parseGgufHeader(full.subarray(0, full.length - 16), { fileSize: full.length }).tensors).toHaveLength(1);
  });
});
