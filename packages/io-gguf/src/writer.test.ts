import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetadataValueType, ModelMetadata } from '@smallmind/io-smq';
import type { MetadataValue } from '@smallmind/io-smq';
import { GgmlType } from '@smallmind/quantization-tensors';
import { afterAll, describe, expect, it } from 'vitest';
import { GgufWriteError, GgufWriter, readGguf, writeGguf } from './index.js';
import type { GgufFile, GgufTensorWithData } from './index.js';
import { diffMetadata } from './test-support/metadata-diff.js';
import { REPO_FIXTURES, SHARED_FIXTURES, hasSharedFixtures, listGgufFixtures, materialise, scratchDir, sha256 } from './test-support/fixtures.js';
import type { GgufFixture } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());
let counter = 0;
const tempPath = (name = 'out.gguf'): string => join(scratch.dir, `${counter++}-${name}`);

function richMetadata(): ModelMetadata {
  const entries: Array<[string, MetadataValue]> = [
    ['general.architecture', { type: MetadataValueType.STRING, value: 'llama' }],
    ['u8', { type: MetadataValueType.UINT8, value: 200 }],
    ['i8', { type: MetadataValueType.INT8, value: -5 }],
    ['u16', { type: MetadataValueType.UINT16, value: 65000 }],
    ['i16', { type: MetadataValueType.INT16, value: -30000 }],
    ['u32', { type: MetadataValueType.UINT32, value: 4294967295 }],
    ['i32', { type: MetadataValueType.INT32, value: -7 }],
    ['f32', { type: MetadataValueType.FLOAT32, value: Math.fround(1e-5) }],
    ['bool', { type: MetadataValueType.BOOL, value: false }],
    ['u64', { type: MetadataValueType.UINT64, value: 1n << 63n }],
    ['i64', { type: MetadataValueType.INT64, value: -123456789012345n }],
    ['f64', { type: MetadataValueType.FLOAT64, value: -0.25 }],
    ['tokens', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.STRING, values: ['<s>', 'é', '🍎', ''] } }],
    [
      'nested',
      {
        type: MetadataValueType.ARRAY,
        value: { elementType: MetadataValueType.ARRAY, values: [{ elementType: MetadataValueType.INT64, values: [1n, -1n] }, { elementType: MetadataValueType.BOOL, values: [true] }] },
      },
    ],
  ];
  return new ModelMetadata(entries);
}

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function sampleTensors(): GgufTensorWithData[] {
  return [
    { name: 'token_embd.weight', type: GgmlType.Q4_0, shape: [64, 3], data: randomBytes(3 * 2 * 18, 1) },
    { name: 'norm', type: GgmlType.F32, shape: [7], data: randomBytes(28, 2) },
    { name: 'k', type: GgmlType.Q6_K, shape: [256, 2], data: randomBytes(2 * 210, 3) },
  ];
}

async function rewrite(source: GgufFile, path: string, chunkBytes: number): Promise<void> {
  const writer = await GgufWriter.create(path, { metadata: source.metadata, tensors: source.tensors });
  for (const t of source.tensors) {
    for await (const chunk of source.readTensorChunks(t.name, chunkBytes)) await writer.writeTensorData(t.name, chunk);
  }
  await writer.finish();
}

describe('GgufWriter', () => {
  it('round-trips metadata of every value type and tensor data: read(write(x)) == x', async () => {
    const path = tempPath();
    const metadata = richMetadata();
    const tensors = sampleTensors();
    await writeGguf(path, { metadata, tensors });
    const file = await readGguf(path);
    try {
      expect(file.version).toBe(3);
      expect(diffMetadata(file.metadata, metadata)).toEqual([]);
      expect(file.tensors.map((t) => [t.name, t.type, t.shape])).toEqual(tensors.map((t) => [t.name, t.type, t.shape]));
      for (const t of tensors) expect(await file.readTensorData(t.name)).toEqual(t.data);
      for (const t of file.tensors) expect((t.offset - file.dataOffset) % 32).toBe(0);
      expect(file.fileSize % 32).toBe(0);
    } finally {
      await file.close();
    }
  });

  it('honours general.alignment and accepts chunks in any tensor order', async () => {
    const path = tempPath();
    const metadata = new ModelMetadata([['general.alignment', { type: MetadataValueType.UINT32, value: 256 }]]);
    const tensors = sampleTensors();
    const writer = await GgufWriter.create(path, { metadata, tensors });
    for (const t of [...tensors].reverse()) {
      for (let i = 0; i < t.data.length; i += 5) await writer.writeTensorData(t.name, t.data.subarray(i, i + 5));
    }
    await writer.finish();
    const file = await readGguf(path);
    expect(file.alignment).toBe(256);
    for (const t of file.tensors) expect(t.offset % 256).toBe(0);
    for (const t of tensors) expect(await file.readTensorData(t.name)).toEqual(t.data);
    await file.close();
  });

  it('is atomic: nothing at the destination before finish, after abort, or after a failed finish', async () => {
    const path = tempPath();
    const tensors = sampleTensors();
    const writer = await GgufWriter.create(path, { metadata: richMetadata(), tensors });
    await writer.writeTensorData('norm', tensors[1]!.data);
    expect(existsSync(path)).toBe(false);
    await writer.abort();
    expect(existsSync(path)).toBe(false);

    const incomplete = await GgufWriter.create(path, { metadata: richMetadata(), tensors });
    await incomplete.writeTensorData('norm', tensors[1]!.data);
    await expect(incomplete.finish()).rejects.toMatchObject({ code: 'INCOMPLETE_TENSOR', subject: 'token_embd.weight' });
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(scratch.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to overwrite unless asked', async () => {
    const path = tempPath();
    writeFileSync(path, 'precious');
    await expect(writeGguf(path, { metadata: richMetadata(), tensors: sampleTensors() })).rejects.toMatchObject({ code: 'DESTINATION_EXISTS' });
    expect(readFileSync(path, 'utf8')).toBe('precious');
    await writeGguf(path, { metadata: richMetadata(), tensors: sampleTensors(), overwrite: true });
    const file = await readGguf(path);
    expect(file.tensors).toHaveLength(3);
    await file.close();
  });

  it('rejects bad tensors and data with typed errors', async () => {
    const metadata = new ModelMetadata();
    const bad = async (tensors: Parameters<typeof GgufWriter.create>[1]['tensors']) => GgufWriter.create(tempPath(), { metadata, tensors });
    await expect(bad([{ name: 'x', type: 4, shape: [32] }])).rejects.toMatchObject({ code: 'INVALID_TENSOR', subject: 'x' });
    await expect(bad([{ name: 'x', type: GgmlType.Q4_0, shape: [33] }])).rejects.toMatchObject({ code: 'INVALID_TENSOR' });
    await expect(bad([{ name: 'x', type: 0, shape: [0] }])).rejects.toMatchObject({ code: 'INVALID_TENSOR' });
    await expect(bad([{ name: 'x', type: 0, shape: [1, 1, 1, 1, 1] }])).rejects.toMatchObject({ code: 'INVALID_TENSOR' });
    await expect(bad([{ name: 'n'.repeat(64), type: 0, shape: [1] }])).rejects.toMatchObject({ code: 'INVALID_TENSOR' });
    await expect(bad([{ name: 'x', type: 0, shape: [1] }, { name: 'x', type: 0, shape: [1] }])).rejects.toMatchObject({ code: 'DUPLICATE_TENSOR_NAME' });

    const writer = await GgufWriter.create(tempPath(), { metadata, tensors: [{ name: 'x', type: 0, shape: [2] }] });
    await expect(writer.writeTensorData('y', new Uint8Array(1))).rejects.toMatchObject({ code: 'UNKNOWN_TENSOR' });
    await expect(writer.writeTensorData('x', new Uint8Array(9))).rejects.toMatchObject({ code: 'TOO_MUCH_DATA' });
    await writer.abort();
    await expect(writer.writeTensorData('x', new Uint8Array(8))).rejects.toMatchObject({ code: 'NOT_WRITABLE' });
  });

  it('rejects metadata values that do not fit their declared type', async () => {
    const cases: MetadataValue[] = [
      { type: MetadataValueType.UINT8, value: 256 },
      { type: MetadataValueType.INT32, value: 1.5 },
      { type: MetadataValueType.UINT64, value: -1n },
      { type: MetadataValueType.UINT64, value: 5 as unknown as bigint },
      { type: MetadataValueType.STRING, value: 'lone \ud800 surrogate' },
      { type: 13, value: 1 } as unknown as MetadataValue,
      { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.UINT16, values: [1, -1] } },
      { type: MetadataValueType.UINT32, value: 64 }, // valid value but as general.alignment below: 64 is fine
    ];
    for (const value of cases.slice(0, -1)) {
      const error = await GgufWriter.create(tempPath(), { metadata: new ModelMetadata([['k', value]]), tensors: [] }).catch((e: unknown) => e);
      expect(error, JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toBeInstanceOf(GgufWriteError);
      expect((error as GgufWriteError).code).toBe('INVALID_METADATA');
    }
    const alignment = (v: MetadataValue) => GgufWriter.create(tempPath(), { metadata: new ModelMetadata([['general.alignment', v]]), tensors: [] });
    await expect(alignment({ type: MetadataValueType.UINT32, value: 48 })).rejects.toMatchObject({ code: 'INVALID_METADATA', subject: 'general.alignment' });
    await expect(alignment({ type: MetadataValueType.UINT64, value: 32n })).rejects.toMatchObject({ code: 'INVALID_METADATA' });
  });
});

function rewriteSuite(fixtures: readonly GgufFixture[]): void {
  it('has fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  for (const fixture of fixtures) {
    it(`${fixture.name}: re-writing the parsed file reproduces it byte for byte`, async () => {
      const source = materialise(fixture, scratch.dir);
      const out = tempPath('rewrite.gguf');
      const file = await readGguf(source);
      try {
        await rewrite(file, out, 4096);
      } finally {
        await file.close();
      }
      expect(sha256(readFileSync(out))).toBe(sha256(readFileSync(source)));
    });
  }
}

describe('GgufWriter reproduces the vendored fixtures', () => {
  rewriteSuite(listGgufFixtures(REPO_FIXTURES));
});

describe.skipIf(!hasSharedFixtures)('GgufWriter reproduces every fixture of ../shared/fixtures', () => {
  rewriteSuite(listGgufFixtures(SHARED_FIXTURES));
});
