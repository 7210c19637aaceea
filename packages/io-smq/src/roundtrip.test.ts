import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allGgmlTypes } from '@smallmind/quantization-tensors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crc32 } from './checksum.js';
import { MetadataValueType as T, ModelMetadata } from './metadata.js';
import { SmqReader } from './reader.js';
import { F32_NAN_BITS, F64_NAN_BITS, everyTypeMetadata, f32Bits, f64Bits, makeTempDir, metadataSnapshot, seededBytes } from './test-helpers.js';
import { SmqWriter, writeSmq, type SmqTensorWithData } from './writer.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
afterEach(() => cleanup());

const bytes = seededBytes;

describe('metadata round trip', () => {
  it('preserves every value type bit for bit, in order', async () => {
    const path = join(dir, 'meta.smq');
    const metadata = everyTypeMetadata();
    await writeSmq(path, { metadata, tensors: [] });
    const reader = await SmqReader.open(path);
    expect(reader.metadata.keys()).toEqual(metadata.keys());
    expect(metadataSnapshot(reader.metadata)).toEqual(metadataSnapshot(metadata));
    // Spot checks through the typed accessors.
    expect(reader.metadata.get('u64.beyond.2^53')).toEqual({ type: T.UINT64, value: 2n ** 64n - 1n });
    expect(reader.metadata.get('i64.negative')).toEqual({ type: T.INT64, value: -5n });
    expect(reader.metadata.getString('string.unicode')).toBe('café 🍎 中文 e\u0301 \u0000 end');
    expect(reader.metadata.getArray('array.empty', T.INT32).values).toEqual([]);
    expect(Object.is(reader.metadata.getFloat('f32.negzero'), -0)).toBe(true);
    await reader.close();
  });

  it('keeps NaN payloads of FLOAT32 and FLOAT64, scalar and in arrays', async () => {
    const path = join(dir, 'nan.smq');
    await writeSmq(path, { metadata: everyTypeMetadata(), tensors: [] });
    const reader = await SmqReader.open(path);
    expect(f32Bits(reader.metadata.getFloat('f32.nan'))).toBe(F32_NAN_BITS);
    expect(f64Bits(reader.metadata.getFloat('f64.nan'))).toBe(F64_NAN_BITS);
    expect(f32Bits(reader.metadata.getArray('array.f32').values[3] as number)).toBe(F32_NAN_BITS);
    expect(f64Bits(reader.metadata.getArray('array.f64').values[0] as number)).toBe(F64_NAN_BITS);
    await reader.close();
    // And the file holds the exact little-endian bits.
    const file = Buffer.from(await readFile(path));
    const f32 = Buffer.alloc(4);
    f32.writeUInt32LE(F32_NAN_BITS);
    const f64 = Buffer.alloc(8);
    f64.writeBigUInt64LE(F64_NAN_BITS);
    expect(file.indexOf(f32)).toBeGreaterThan(0);
    expect(file.indexOf(f64)).toBeGreaterThan(0);
  });

  it('re-writing what was read gives the same header bytes', async () => {
    const first = join(dir, 'a.smq');
    const second = join(dir, 'b.smq');
    const provenance = { createdAt: '2026-01-01T00:00:00.000Z' };
    await writeSmq(first, { metadata: everyTypeMetadata(), tensors: [], provenance });
    const reader = await SmqReader.open(first);
    await writeSmq(second, { metadata: reader.metadata, tensors: [], provenance: reader.provenance });
    await reader.close();
    expect(await readFile(second)).toEqual(await readFile(first));
  });

  it('round-trips a vocabulary-sized header (megabytes of tokens, scores and types)', async () => {
    const path = join(dir, 'vocab.smq');
    const n = 50_000;
    const tokens = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `▁tok${i}` : i % 3 === 1 ? `<0x${(i & 0xff).toString(16)}>` : `слово${i}🍎`));
    const metadata = new ModelMetadata([
      ['tokenizer.ggml.model', { type: T.STRING, value: 'llama' }],
      ['tokenizer.ggml.tokens', { type: T.ARRAY, value: { elementType: T.STRING, values: tokens } }],
      ['tokenizer.ggml.scores', { type: T.ARRAY, value: { elementType: T.FLOAT32, values: tokens.map((_, i) => Math.fround(-i / 7)) } }],
      ['tokenizer.ggml.token_type', { type: T.ARRAY, value: { elementType: T.INT32, values: tokens.map((_, i) => (i % 6) + 1) } }],
      ['tokenizer.ggml.merges', { type: T.ARRAY, value: { elementType: T.STRING, values: tokens.slice(0, 20_000).map((t) => `${t} ${t}`) } }],
    ]);
    await writeSmq(path, { metadata, tensors: [{ name: 'w', type: 0, shape: [8], data: bytes(32, 1) }] });
    expect((await readFile(path)).length).toBeGreaterThan(1_000_000);
    const reader = await SmqReader.open(path);
    // Compared as JSON text: a deep toEqual over 170,000 elements costs seconds.
    expect(JSON.stringify(metadataSnapshot(reader.metadata)) === JSON.stringify(metadataSnapshot(metadata))).toBe(true);
    expect(reader.metadata.getStringArray('tokenizer.ggml.tokens')[n - 1]).toBe(tokens[n - 1]);
    await reader.close();
  });

  it('round-trips provenance', async () => {
    const path = join(dir, 'p.smq');
    const provenance = {
      sourceFileName: 'stories260K-Q4_0.gguf',
      sourceFileSize: 2 ** 40 + 3,
      sourceSha256: 'ab'.repeat(32),
      importerName: '@smallmind/io-gguf',
      importerVersion: '0.1.0',
      createdAt: '2026-08-01T12:00:00.000Z',
    };
    await writeSmq(path, { metadata: new ModelMetadata(), tensors: [], provenance });
    const reader = await SmqReader.open(path);
    expect(reader.provenance).toEqual(provenance);
    expect(reader.metadata.size).toBe(0);
    await reader.close();
  });

  it('fills in createdAt when the provenance has none', async () => {
    const path = join(dir, 't.smq');
    const before = Date.now();
    await writeSmq(path, { metadata: new ModelMetadata(), tensors: [] });
    const reader = await SmqReader.open(path);
    const created = Date.parse(reader.provenance.createdAt ?? '');
    expect(created).toBeGreaterThanOrEqual(before - 1000);
    expect(created).toBeLessThanOrEqual(Date.now());
    await reader.close();
  });
});

describe('tensor round trip', () => {
  it('stores every known ggml type with its bytes, shape, 64-aligned offsets and checksums', async () => {
    const path = join(dir, 'tensors.smq');
    const tensors: SmqTensorWithData[] = allGgmlTypes().map((info, i) => {
      const shape = i % 3 === 0 ? [info.blockSize * 3] : i % 3 === 1 ? [info.blockSize, 2, 3] : [info.blockSize * 2, 1, 1, 2];
      const n = shape.reduce((a, b) => a * b, 1);
      return { name: `blk.${i}.${info.name.toLowerCase()}.weight`, type: info.id, shape, data: bytes((n / info.blockSize) * info.typeSize, i + 1) };
    });
    await writeSmq(path, { metadata: new ModelMetadata([['general.architecture', { type: T.STRING, value: 'llama' }]]), tensors });
    const reader = await SmqReader.open(path);
    expect(reader.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    for (const t of tensors) {
      const info = reader.tensor(t.name);
      expect(info).toMatchObject({ type: t.type, shape: t.shape, byteLength: t.data.length, layout: 0, checksum: crc32(t.data) });
      expect((info?.offset ?? 1) % 64).toBe(0);
      expect(await reader.readTensorData(t.name)).toEqual(t.data);
    }
    expect(reader.fileLength % 64).toBe(0);
    expect((await readFile(path)).length).toBe(reader.fileLength);
    expect(reader.tensor('missing')).toBeUndefined();
    await reader.close();
  });

  it('assembles tensors streamed in uneven chunks, including empty ones and chunks above the staging size', async () => {
    const path = join(dir, 'chunks.smq');
    const big = bytes(3 * 1024 * 1024, 7); // above the writer's 1 MiB staging buffer
    const small = bytes(34 * 100, 8); // Q8_0, 100 blocks
    const writer = await SmqWriter.create(path, {
      metadata: new ModelMetadata(),
      tensors: [
        { name: 'small', type: 8, shape: [3200], byteLength: small.length },
        { name: 'big', type: 0, shape: [1024, big.length / 4096], byteLength: big.length },
        { name: 'small2', type: 8, shape: [3200], byteLength: small.length },
      ],
    });
    for (const [from, to] of [[0, 1], [1, 1], [1, 1000], [1000, 3400]] as const) await writer.writeTensorData('small', small.subarray(from, to));
    await writer.writeTensorData('big', big.subarray(0, 5));
    await writer.writeTensorData('big', big.subarray(5));
    const reused = new Uint8Array(1700);
    for (let half = 0; half < 2; half++) {
      reused.set(small.subarray(half * 1700, half * 1700 + 1700));
      await writer.writeTensorData('small2', reused);
    }
    await writer.finish();
    const reader = await SmqReader.open(path);
    expect(await reader.readTensorData('small')).toEqual(small);
    expect(Buffer.compare(await reader.readTensorData('big'), big)).toBe(0);
    expect(await reader.readTensorData('small2')).toEqual(small);
    const into = new Uint8Array(big.length);
    await reader.readTensorDataInto('big', into);
    expect(Buffer.compare(into, big)).toBe(0);
    await reader.close();
  });

  it('reads from memory the same as from disk', async () => {
    const path = join(dir, 'mem.smq');
    const data = bytes(18 * 4, 3);
    await writeSmq(path, { metadata: everyTypeMetadata(), tensors: [{ name: 'q', type: 2, shape: [128], data }] });
    const reader = await SmqReader.fromBytes(await readFile(path));
    expect(metadataSnapshot(reader.metadata)).toEqual(metadataSnapshot(everyTypeMetadata()));
    expect(await reader.readTensorData('q')).toEqual(data);
  });
});
