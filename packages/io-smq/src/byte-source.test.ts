import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SmallMindError } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import { ByteSourceError, FileByteSource, MemoryByteSource, SmqReader, readIntoFrom, type ByteSource } from './index.js';
import { MetadataValueType as T, ModelMetadata } from './metadata.js';
import { encodeSmqBytes } from './smq-bytes.js';
import { makeTempDir, seededBytes } from './test-helpers.js';

async function rejection(promise: Promise<unknown>): Promise<ByteSourceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ByteSourceError)) throw new Error(`expected a ByteSourceError, got ${String(error)}`);
  return error;
}

/** The ranges every source must refuse before allocating (the lengths are absurd on purpose). */
const BAD_RANGES: ReadonlyArray<readonly [number, number]> = [
  [-1, 1],
  [0.5, 1],
  [0, -1],
  [0, 1.5],
  [0, Number.NaN],
  [0, 2 ** 52],
  [Number.MAX_SAFE_INTEGER, 1],
  [0, 101],
  [100, 1],
  [101, 0],
];

/** Contract checks shared by every implementation, over a source holding `bytes`. */
async function checkContract(source: ByteSource, bytes: Uint8Array): Promise<void> {
  expect(source.size).toBe(bytes.length);
  expect(await source.read(0, bytes.length)).toEqual(bytes);
  expect(await source.read(37, 20)).toEqual(bytes.subarray(37, 57));
  expect(await source.read(bytes.length, 0)).toEqual(new Uint8Array(0));
  const target = new Uint8Array(30);
  await readIntoFrom(source, target, 70);
  expect(target).toEqual(bytes.subarray(70, 100));
  for (const [offset, length] of BAD_RANGES) {
    const error = await rejection(source.read(offset, length));
    expect(error).toMatchObject({ name: 'ByteSourceError', code: 'OUT_OF_RANGE' });
    expect(error).toBeInstanceOf(SmallMindError);
  }
  expect(await rejection(readIntoFrom(source, new Uint8Array(2), 99))).toMatchObject({ code: 'OUT_OF_RANGE', offset: 99, length: 2 });
  await source.close();
  await source.close(); // idempotent
  expect(await rejection(source.read(0, 1))).toMatchObject({ code: 'CLOSED' });
  expect(await rejection(readIntoFrom(source, new Uint8Array(1), 0))).toMatchObject({ code: 'CLOSED' });
}

describe('MemoryByteSource', () => {
  const bytes = seededBytes(100, 7);

  it('keeps the ByteSource contract over a Uint8Array and over an ArrayBuffer', async () => {
    await checkContract(new MemoryByteSource(bytes), bytes);
    await checkContract(new MemoryByteSource(bytes.slice().buffer), bytes);
  });

  it('returns a copy from read(): writing to it leaves the source unchanged', async () => {
    const source = new MemoryByteSource(bytes.slice());
    const first = await source.read(0, 10);
    first.fill(0);
    expect(await source.read(0, 10)).toEqual(bytes.subarray(0, 10));
  });
});

describe('FileByteSource', () => {
  it('keeps the ByteSource contract over a file', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const bytes = seededBytes(100, 8);
      const path = join(dir, 'bytes.bin');
      await writeFile(path, bytes);
      const source = await FileByteSource.open(path);
      expect(source.path).toBe(path);
      await checkContract(source, bytes);
    } finally {
      await cleanup();
    }
  });

  it('is SHORT_READ at the byte where a file truncated after open ends', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const path = join(dir, 'shrinks.bin');
      await writeFile(path, seededBytes(100, 9));
      const source = await FileByteSource.open(path);
      await truncate(path, 60);
      expect(await rejection(source.read(50, 20))).toMatchObject({ code: 'SHORT_READ', offset: 60, length: 20 });
      expect(await rejection(readIntoFrom(source, new Uint8Array(50), 40))).toMatchObject({ code: 'SHORT_READ', offset: 60 });
      expect(await source.read(10, 50)).toHaveLength(50);
      await source.close();
    } finally {
      await cleanup();
    }
  });
});

describe('readIntoFrom', () => {
  it('refuses a custom source whose read() returns fewer bytes than asked', async () => {
    const liar: ByteSource = { size: 100, read: () => Promise.resolve(new Uint8Array(3)), close: () => Promise.resolve() };
    expect(await rejection(readIntoFrom(liar, new Uint8Array(8), 10))).toMatchObject({ code: 'SHORT_READ', offset: 13 });
  });
});

describe('a source with only read(), as a Blob or an HTTP range source offers', () => {
  /** What a browser implementation would look like; Node 20 has Blob too. */
  function blobSource(blob: Blob): ByteSource & { reads: number } {
    return {
      size: blob.size,
      reads: 0,
      async read(offset, length) {
        this.reads++;
        return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
      },
      close: () => Promise.resolve(),
    };
  }

  it('serves SmqReader exactly as the in-memory bytes do', async () => {
    const tensors = [
      { name: 'a', type: 0, shape: [4, 3], data: seededBytes(48, 1) },
      { name: 'b', type: 2, shape: [64], data: seededBytes(36, 2) },
    ];
    const file = encodeSmqBytes({ metadata: new ModelMetadata([['general.name', { type: T.STRING, value: 'blob' }]]), tensors });
    const source = blobSource(new Blob([file]));
    const reader = await SmqReader.fromSource(source);
    expect(reader.metadata.getString('general.name')).toBe('blob');
    for (const t of tensors) expect(await reader.readTensorData(t.name)).toEqual(t.data);
    expect(source.reads).toBeGreaterThan(0);
    await reader.close();
  });
});
