import { SmallMindError } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import { ByteSourceError, MemoryByteSource, MetadataError, ModelMetadata, SmqError, SmqFormatError, SmqReadError, SmqReader, SmqWriteError, SmqWriter } from './index.js';
import * as pkg from './index.js';
import { encodeSmqBytes } from './smq-bytes.js';
import { makeTempDir } from './test-helpers.js';

/** What `fn` throws or rejects with (undefined if it does not fail: the class checks then fail). */
const failureOf = (fn: () => unknown): Promise<unknown> => Promise.resolve().then(fn).then(() => undefined, (e: unknown) => e);


/** The error classes `index.ts` exports; a new one must be added here (and extend SmallMindError). */
const EXPECTED = ['ByteSourceError', 'MetadataError', 'SmqError', 'SmqFormatError', 'SmqReadError', 'SmqWriteError'];

describe('every io-smq error is a SmallMindError with a string code', () => {
  it.each([
    ['SmqFormatError', SmqFormatError, 'BAD_MAGIC', () => SmqReader.fromBytes(new Uint8Array(64))],
    ['SmqReadError', SmqReadError, 'TENSOR_NOT_FOUND', async () => (await SmqReader.fromBytes(encodeSmqBytes({}))).readTensorData('missing')],
    ['MetadataError', MetadataError, 'MISSING_KEY', () => new ModelMetadata().getString('general.name')],
    ['MetadataError', MetadataError, 'WRONG_TYPE', () => new ModelMetadata([['n', { type: 4, value: 1 }]]).getString('n')],
    ['ByteSourceError', ByteSourceError, 'OUT_OF_RANGE', () => new MemoryByteSource(new Uint8Array(4)).read(2, 4)],
  ] as const)('%s (%s)', async (name, Class, code, fn) => {
    const error = await failureOf(fn);
    expect(error).toBeInstanceOf(Class);
    expect(error).toBeInstanceOf(SmallMindError);
    expect(error).toMatchObject({ name, code });
    expect(typeof (error as SmallMindError).code).toBe('string');
  });

  it('SmqWriteError (INVALID_METADATA), through SmqError', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const error = await failureOf(() => SmqWriter.create(`${dir}/x.smq`, { metadata: {} as ModelMetadata, tensors: [] }));
      expect(error).toBeInstanceOf(SmqWriteError);
      expect(error).toBeInstanceOf(SmqError);
      expect(error).toBeInstanceOf(SmallMindError);
      expect(error).toMatchObject({ name: 'SmqWriteError', code: 'INVALID_METADATA', field: 'metadata' });
    } finally {
      await cleanup();
    }
  });

  it('covers every error class the package exports', () => {
    const errorClasses = Object.entries(pkg).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error);
    expect(errorClasses.map(([name]) => name).sort()).toEqual(EXPECTED.slice().sort());
    for (const [name, Class] of errorClasses) expect(Class === SmallMindError || (Class as { prototype: unknown }).prototype instanceof SmallMindError, name).toBe(true);
  });
});
