/**
 * One crafted file per rule of SPEC.md: each must be refused with its own `SmqFormatError` code, pointing at
 * the offending byte. Files are built in memory (valid ones by the encoder, then patched and resealed, so
 * that the checksum does not hide the rule under test).
 */
import { open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from './checksum.js';
import { SmqFormatError, SmqReadError, type SmqFormatErrorCode } from './errors.js';
import { HeaderImage } from './header.js';
import { MetadataValueType as T, ModelMetadata, type MetadataArray, type MetadataValue } from './metadata.js';
import { SmqReader } from './reader.js';
import { encodeSmqBytes, resealSmqBytes, type RawSmq, type RawTensor } from './smq-bytes.js';
import { entryAt, insertIntoHeader, makeTempDir, patchU32, patchU64, readU64, tensorAt, view } from './test-helpers.js';

const Q4_0 = 2;
const F32 = 0;
const fill = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

const baseTensors: RawTensor[] = [
  { name: 'tensor.a', type: Q4_0, shape: [64, 2], data: fill(72, 1) },
  { name: 'tensor.b', type: F32, shape: [3, 2], data: fill(24, 2) },
];
const baseMetadata = () =>
  new ModelMetadata([
    ['general.name', { type: T.STRING, value: 'tiny' }],
    ['flag', { type: T.BOOL, value: true }],
    ['counts', { type: T.ARRAY, value: { elementType: T.UINT32, values: [1, 2, 3] } }],
    ['ka', { type: T.UINT8, value: 1 }],
    ['kb', { type: T.UINT8, value: 2 }],
  ]);
const baseProvenance: Array<[string, MetadataValue]> = [['source.file_name', { type: T.STRING, value: 'x.gguf' }]];

function build(spec: RawSmq = {}): Uint8Array {
  return encodeSmqBytes({ metadata: baseMetadata(), provenance: baseProvenance, tensors: baseTensors, ...spec });
}
/** A valid file, changed by `patch`, checksums recomputed. */
function patched(patch: (file: Uint8Array) => void, spec?: RawSmq): Uint8Array {
  const file = build(spec);
  patch(file);
  resealSmqBytes(file);
  return file;
}

async function openError(file: Uint8Array): Promise<SmqFormatError> {
  try {
    await SmqReader.fromBytes(file);
  } catch (e) {
    if (e instanceof SmqFormatError) return e;
    throw e;
  }
  throw new Error('the file was accepted');
}
async function expectRejected(file: Uint8Array, code: SmqFormatErrorCode, offset?: number, field?: RegExp): Promise<SmqFormatError> {
  const e = await openError(file);
  expect(e.code, e.message).toBe(code);
  if (offset !== undefined) expect(e.offset, e.message).toBe(offset);
  if (field !== undefined) expect(e.field).toMatch(field);
  expect(e.message).toContain(code);
  return e;
}

describe('the base file', () => {
  it('is valid, so each test below fails for its own reason only', async () => {
    const reader = await SmqReader.fromBytes(build());
    expect(reader.tensors.map((t) => t.name)).toEqual(['tensor.a', 'tensor.b']);
    expect(await reader.readTensorData('tensor.b')).toEqual(baseTensors[1]?.data);
  });
});

describe('prefix', () => {
  it('BAD_MAGIC for another format, naming the first wrong byte', async () => {
    await expectRejected(new TextEncoder().encode('GGUF\x03\x00\x00\x00' + ' '.repeat(100)), 'BAD_MAGIC', 0, /prefix\.magic/);
    const file = build();
    file[3] = 0x00;
    await expectRejected(file, 'BAD_MAGIC', 3);
  });
  it('TRUNCATED for an empty file, a partial magic, and a partial prefix', async () => {
    await expectRejected(new Uint8Array(0), 'TRUNCATED', 0);
    await expectRejected(build().subarray(0, 5), 'TRUNCATED', 5);
    await expectRejected(build().subarray(0, 40), 'TRUNCATED', 40);
  });
  it('TRUNCATED when the file is shorter than its prefix says', async () => {
    const file = build();
    await expectRejected(file.subarray(0, file.length - 1), 'TRUNCATED', file.length - 1, /fileLength/);
    await expectRejected(file.subarray(0, 100), 'TRUNCATED');
  });
  it('UNSUPPORTED_VERSION for 0 and 2 (checked before the prefix CRC)', async () => {
    for (const version of [0, 2]) {
      const file = build();
      patchU32(file, 8, version);
      const e = await expectRejected(file, 'UNSUPPORTED_VERSION', 8);
      expect(e.message).toContain(`version ${version}`);
    }
  });
  it('PREFIX_CHECKSUM_MISMATCH when a prefix byte changed', async () => {
    const file = build();
    file[20] = (file[20] ?? 0) ^ 0x10;
    await expectRejected(file, 'PREFIX_CHECKSUM_MISMATCH', 60);
  });
  it('UNSUPPORTED_FLAGS, UNSUPPORTED_ALIGNMENT, RESERVED_NOT_ZERO', async () => {
    await expectRejected(patched((f) => patchU32(f, 12, 1)), 'UNSUPPORTED_FLAGS', 12);
    await expectRejected(patched((f) => patchU32(f, 52, 32)), 'UNSUPPORTED_ALIGNMENT', 52);
    await expectRejected(patched((f) => patchU32(f, 56, 7)), 'RESERVED_NOT_ZERO', 56);
  });
  it('FILE_LENGTH_MISMATCH when bytes were appended', async () => {
    const file = build();
    const longer = new Uint8Array(file.length + 64);
    longer.set(file);
    await expectRejected(longer, 'FILE_LENGTH_MISMATCH', file.length);
    // Even with the prefix updated to claim them, the tensor data does not reach that far.
    patchU64(longer, 32, longer.length);
    resealSmqBytes(longer);
    await expectRejected(longer, 'FILE_LENGTH_MISMATCH', 32);
  });
  it('NUMBER_TOO_LARGE, HEADER_TOO_LARGE, BAD_HEADER_LENGTH, BAD_DATA_OFFSET', async () => {
    await expectRejected(patched((f) => patchU64(f, 16, 2n ** 60n)), 'NUMBER_TOO_LARGE', 16);
    await expectRejected(patched((f) => patchU64(f, 32, 2n ** 64n - 1n)), 'NUMBER_TOO_LARGE', 32);
    await expectRejected(patched((f) => patchU64(f, 16, 2 ** 30 + 1)), 'HEADER_TOO_LARGE', 16);
    await expectRejected(patched((f) => patchU64(f, 16, 67)), 'BAD_HEADER_LENGTH', 16);
    await expectRejected(patched((f) => patchU64(f, 16, f.length + 1)), 'BAD_HEADER_LENGTH', 16);
    await expectRejected(patched((f) => patchU64(f, 24, readU64(f, 24) + 64)), 'BAD_DATA_OFFSET', 24);
    await expectRejected(patched((f) => patchU64(f, 24, readU64(f, 24) - 64)), 'BAD_DATA_OFFSET', 24);
  });
});

describe('header', () => {
  it('HEADER_CHECKSUM_MISMATCH when a header byte changed, at the stored CRC', async () => {
    const file = build();
    const at = entryAt(file, 'general.name').payload + 4;
    file[at] = (file[at] ?? 0) ^ 1;
    await expectRejected(file, 'HEADER_CHECKSUM_MISMATCH', readU64(file, 16) - 4, /header\.crc/);
  });
  it('PADDING_NOT_ZERO for a non-zero byte between the header and the data', async () => {
    const file = build();
    const headerLength = readU64(file, 16);
    expect(headerLength % 64).not.toBe(0); // the base file has header padding to corrupt
    const dataOffset = readU64(file, 24);
    file[dataOffset - 1] = 9;
    await expectRejected(file, 'PADDING_NOT_ZERO', dataOffset - 1);
  });
  it('COUNT_TOO_LARGE for entry, tensor and array counts beyond the header bytes, before allocating', async () => {
    await expectRejected(patched((f) => patchU32(f, 40, 0xffffffff)), 'COUNT_TOO_LARGE', 40, /metadataCount/);
    await expectRejected(patched((f) => patchU32(f, 44, 1000)), 'COUNT_TOO_LARGE', 44, /provenanceCount/);
    await expectRejected(patched((f) => patchU32(f, 48, 0x7fffffff)), 'COUNT_TOO_LARGE', 48, /tensorCount/);
    const file = build();
    const countAt = entryAt(file, 'counts').payload + 4;
    await expectRejected(patched((f) => patchU32(f, countAt, 0xffffffff)), 'COUNT_TOO_LARGE', countAt, /counts/);
  });
  it('STRING_TOO_LONG for a string length beyond the header bytes', async () => {
    const at = entryAt(build(), 'general.name').payload;
    await expectRejected(patched((f) => patchU32(f, at, 0xfffffff0)), 'STRING_TOO_LONG', at, /general\.name/);
  });
  it('BAD_KEY for empty and over-long keys, INVALID_UTF8 for broken ones', async () => {
    const at = entryAt(build(), 'ka').key;
    await expectRejected(patched((f) => patchU32(f, at, 0)), 'BAD_KEY', at);
    await expectRejected(patched((f) => patchU32(f, at, 1025)), 'BAD_KEY', at);
    await expectRejected(patched((f) => f.set([0xff, 0xfe], at + 4)), 'INVALID_UTF8', at + 4);
  });
  it('DUPLICATE_KEY, naming the second occurrence', async () => {
    const at = entryAt(build(), 'kb').key;
    await expectRejected(patched((f) => f.set([0x6b, 0x61], at + 4)), 'DUPLICATE_KEY', at, /"ka"/);
  });
  it('UNKNOWN_VALUE_TYPE for a value and for an array element type', async () => {
    const file = build();
    await expectRejected(patched((f) => patchU32(f, entryAt(file, 'ka').type, 13)), 'UNKNOWN_VALUE_TYPE', entryAt(file, 'ka').type);
    const elementTypeAt = entryAt(file, 'counts').payload;
    await expectRejected(patched((f) => patchU32(f, elementTypeAt, 0xffffffff)), 'UNKNOWN_VALUE_TYPE', elementTypeAt);
  });
  it('BAD_BOOL for a BOOL byte other than 0 or 1', async () => {
    const at = entryAt(build(), 'flag').payload;
    await expectRejected(patched((f) => (f[at] = 2)), 'BAD_BOOL', at);
  });
  it('NESTING_TOO_DEEP for arrays nested 9 deep', async () => {
    // Eight nested arrays, the innermost an empty ARRAY of ARRAY: the deepest the encoder writes.
    let value: MetadataArray = { elementType: T.ARRAY, values: [] };
    for (let depth = 7; depth >= 1; depth--) value = { elementType: T.ARRAY, values: [value] };
    const file = encodeSmqBytes({ metadata: new ModelMetadata([['deep', { type: T.ARRAY, value }]]) });
    expect((await SmqReader.fromBytes(file)).metadata.has('deep')).toBe(true);
    // Give the innermost array one element: an empty UINT8 array at depth 9.
    const innermostCount = entryAt(file, 'deep').payload + 8 * 7 + 4;
    expect(view(file).getUint32(innermostCount, true)).toBe(0);
    patchU32(file, innermostCount, 1);
    const deeper = insertIntoHeader(file, innermostCount + 4, new Uint8Array(8));
    resealSmqBytes(deeper);
    await expectRejected(deeper, 'NESTING_TOO_DEEP', innermostCount + 4);
  });
  it('HEADER_LENGTH_MISMATCH when the sections end before or run past the header length', async () => {
    const file = encodeSmqBytes({ metadata: new ModelMetadata([['n', { type: T.UINT32, value: 5 }]]) });
    const headerLength = readU64(file, 16);
    const early = insertIntoHeader(file, headerLength - 4, Uint8Array.of(0, 0, 0, 0));
    resealSmqBytes(early);
    await expectRejected(early, 'HEADER_LENGTH_MISMATCH', headerLength - 4);
    // Shrink the header by 2 bytes: the u32 value now runs into the CRC.
    const late = file.slice();
    patchU64(late, 16, headerLength - 2);
    late.fill(0, headerLength - 6);
    resealSmqBytes(late);
    await expectRejected(late, 'HEADER_LENGTH_MISMATCH', entryAt(file, 'n').payload, /"n"/);
  });
  it('BAD_PROVENANCE for known keys of the wrong type or form; unknown keys are skipped', async () => {
    const withProvenance = (provenance: Array<[string, MetadataValue]>) => encodeSmqBytes({ provenance });
    await expectRejected(withProvenance([['source.file_size', { type: T.STRING, value: '12' }]]), 'BAD_PROVENANCE', 64, /source\.file_size/);
    await expectRejected(withProvenance([['source.file_size', { type: T.UINT64, value: 2n ** 60n }]]), 'BAD_PROVENANCE');
    await expectRejected(withProvenance([['source.sha256', { type: T.STRING, value: 'ABC' }]]), 'BAD_PROVENANCE');
    await expectRejected(withProvenance([['created_at', { type: T.UINT32, value: 5 }]]), 'BAD_PROVENANCE');
    const reader = await SmqReader.fromBytes(withProvenance([['future.key', { type: T.UINT32, value: 5 }], ['importer.name', { type: T.STRING, value: 'x' }]]));
    expect(reader.provenance).toEqual({ importerName: 'x' });
  });
});

describe('tensor directory', () => {
  const tensor = (t: Partial<RawTensor>): RawSmq => ({ tensors: [baseTensors[0] as RawTensor, { ...(baseTensors[1] as RawTensor), ...t }] });
  const bAt = (nDims = 2) => tensorAt(build(), 'tensor.b', nDims);

  it('BAD_TENSOR_NAME for empty and over-long names', async () => {
    await expectRejected(patched((f) => patchU32(f, bAt().name, 0)), 'BAD_TENSOR_NAME', bAt().name);
    await expectRejected(patched((f) => patchU32(f, bAt().name, 257)), 'BAD_TENSOR_NAME', bAt().name);
  });
  it('DUPLICATE_TENSOR', async () => {
    const e = await expectRejected(build(tensor({ name: 'tensor.a' })), 'DUPLICATE_TENSOR');
    expect(e.tensor).toBe('tensor.a');
  });
  it('UNKNOWN_TENSOR_TYPE for a removed id and a future one', async () => {
    for (const type of [4, 1000]) {
      const file = build(tensor({ type }));
      const e = await expectRejected(file, 'UNKNOWN_TENSOR_TYPE', tensorAt(file, 'tensor.b', 2).type, /tensors\["tensor\.b"\]\.type/);
      expect(e.tensor).toBe('tensor.b');
    }
  });
  it('UNKNOWN_LAYOUT', async () => {
    await expectRejected(build(tensor({ layout: 1 })), 'UNKNOWN_LAYOUT', bAt().layout);
  });
  it('NO_DIMS, TOO_MANY_DIMS (before reading dims), ZERO_DIM', async () => {
    await expectRejected(patched((f) => patchU32(f, bAt().nDims, 0)), 'NO_DIMS', bAt().nDims);
    await expectRejected(patched((f) => patchU32(f, bAt().nDims, 5)), 'TOO_MANY_DIMS', bAt().nDims);
    await expectRejected(patched((f) => patchU32(f, bAt().nDims, 0xffffffff)), 'TOO_MANY_DIMS', bAt().nDims);
    await expectRejected(patched((f) => patchU64(f, bAt().dims[1] as number, 0)), 'ZERO_DIM', bAt().dims[1], /shape\[1\]/);
  });
  it('ROW_NOT_BLOCK_MULTIPLE when ne[0] is not a whole number of blocks', async () => {
    const at = tensorAt(build(), 'tensor.a', 2);
    await expectRejected(patched((f) => patchU64(f, at.dims[0] as number, 48)), 'ROW_NOT_BLOCK_MULTIPLE', at.dims[0]);
  });
  it('SIZE_OVERFLOW and NUMBER_TOO_LARGE for huge dims', async () => {
    await expectRejected(patched((f) => (patchU64(f, bAt().dims[0] as number, 2 ** 40), patchU64(f, bAt().dims[1] as number, 2 ** 20))), 'SIZE_OVERFLOW', bAt().nDims);
    // 2^51 elements fit 2^53 but 2^51 * 4 bytes does not.
    await expectRejected(patched((f) => (patchU64(f, bAt().dims[0] as number, 2 ** 31), patchU64(f, bAt().dims[1] as number, 2 ** 20))), 'SIZE_OVERFLOW');
    await expectRejected(patched((f) => patchU64(f, bAt().dims[1] as number, 2n ** 60n)), 'NUMBER_TOO_LARGE', bAt().dims[1]);
  });
  it('SIZE_MISMATCH when byteLength disagrees with type and shape', async () => {
    await expectRejected(patched((f) => patchU64(f, bAt().byteLength, 28)), 'SIZE_MISMATCH', bAt().byteLength, /byteLength/);
    await expectRejected(patched((f) => patchU64(f, bAt().byteLength, 0)), 'SIZE_MISMATCH');
  });
  it('MISALIGNED_TENSOR, TENSOR_OVERLAP, TENSOR_GAP', async () => {
    const file = build();
    const offsetB = readU64(file, bAt().offset);
    const offsetA = readU64(file, tensorAt(file, 'tensor.a', 2).offset);
    await expectRejected(patched((f) => patchU64(f, bAt().offset, offsetB + 8)), 'MISALIGNED_TENSOR', bAt().offset);
    await expectRejected(patched((f) => patchU64(f, bAt().offset, offsetA)), 'TENSOR_OVERLAP', bAt().offset);
    await expectRejected(patched((f) => patchU64(f, bAt().offset, offsetB + 64)), 'TENSOR_GAP', bAt().offset);
    const firstAt = tensorAt(file, 'tensor.a', 2).offset;
    await expectRejected(patched((f) => patchU64(f, firstAt, 0)), 'TENSOR_OVERLAP', firstAt);
  });
  it('TENSOR_OUT_OF_FILE when consistent data would run past the end', async () => {
    await expectRejected(patched((f) => (patchU64(f, bAt().dims[1] as number, 200), patchU64(f, bAt().byteLength, 2400))), 'TENSOR_OUT_OF_FILE', bAt().offset);
  });
});

describe('tensor data', () => {
  it('TENSOR_CHECKSUM_MISMATCH names the tensor; verifyChecksums: false skips only that check', async () => {
    const file = build();
    const offsetB = readU64(file, tensorAt(file, 'tensor.b', 2).offset);
    file[offsetB + 5] = (file[offsetB + 5] ?? 0) ^ 0x80;
    const reader = await SmqReader.fromBytes(file);
    expect(await reader.readTensorData('tensor.a')).toEqual(baseTensors[0]?.data);
    const e = await reader.readTensorData('tensor.b').then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(SmqFormatError);
    expect(e).toMatchObject({ code: 'TENSOR_CHECKSUM_MISMATCH', tensor: 'tensor.b', offset: offsetB });
    expect((e as Error).message).toContain('"tensor.b"');
    const unverified = await SmqReader.fromBytes(file, { verifyChecksums: false });
    const data = await unverified.readTensorData('tensor.b');
    expect(crc32(data)).not.toBe(crc32(baseTensors[1]?.data ?? new Uint8Array()));
  });
  it('PADDING_NOT_ZERO after a tensor, even without checksum verification', async () => {
    const file = build();
    const endA = readU64(file, tensorAt(file, 'tensor.a', 2).offset) + 72;
    file[endA + 3] = 1;
    for (const verifyChecksums of [true, false]) {
      const reader = await SmqReader.fromBytes(file, { verifyChecksums });
      await expect(reader.readTensorData('tensor.a')).rejects.toMatchObject({ code: 'PADDING_NOT_ZERO', offset: endA + 3, tensor: 'tensor.a' });
      expect(await reader.readTensorData('tensor.b')).toEqual(baseTensors[1]?.data);
    }
  });
  it('TRUNCATED when the file shrank after open', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const path = join(dir, 'shrink.smq');
      const file = build();
      await writeFile(path, file);
      const reader = await SmqReader.open(path);
      await truncate(path, file.length - 64);
      await expect(reader.readTensorData('tensor.b')).rejects.toMatchObject({ name: 'SmqFormatError', code: 'TRUNCATED', tensor: 'tensor.b' });
      await reader.close();
    } finally {
      await cleanup();
    }
  });
  it('reads a tensor that lies beyond 4 GiB (sparse file)', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const path = join(dir, 'big.smq');
      const tail = fill(256, 9);
      const bigBytes = 2 ** 32 + 4096; // an F32 tensor of just over 4 GiB, never written: the file is sparse
      const header = HeaderImage.build(new ModelMetadata(), [], [
        { name: 'huge', type: F32, layout: 0, shape: [1024, bigBytes / 4096], byteLength: bigBytes },
        { name: 'tail', type: F32, layout: 0, shape: [64], byteLength: tail.length },
      ]);
      header.setTensorChecksum(1, crc32(tail));
      const tailOffset = header.tensorOffsets[1] as number;
      expect(tailOffset).toBeGreaterThan(2 ** 32);
      const handle = await open(path, 'w');
      await handle.write(header.seal(), 0, header.dataOffset, 0);
      await handle.write(tail, 0, tail.length, tailOffset);
      await handle.truncate(header.fileLength);
      await handle.close();
      const reader = await SmqReader.open(path);
      expect(reader.fileLength).toBe(header.fileLength);
      expect(reader.tensor('tail')?.offset).toBe(tailOffset);
      expect(await reader.readTensorData('tail')).toEqual(tail);
      await reader.close();
    } finally {
      await cleanup();
    }
  });
});

describe('reader misuse', () => {
  it('TENSOR_NOT_FOUND, TARGET_SIZE_MISMATCH, READER_CLOSED as SmqReadError', async () => {
    const reader = await SmqReader.fromBytes(build());
    await expect(reader.readTensorData('nope')).rejects.toMatchObject({ name: 'SmqReadError', code: 'TENSOR_NOT_FOUND' });
    await expect(reader.readTensorDataInto('tensor.a', new Uint8Array(71))).rejects.toMatchObject({ code: 'TARGET_SIZE_MISMATCH' });
    await reader.close();
    await reader.close();
    await expect(reader.readTensorData('tensor.a')).rejects.toBeInstanceOf(SmqReadError);
    await expect(reader.readTensorData('tensor.a')).rejects.toMatchObject({ code: 'READER_CLOSED' });
  });
});
