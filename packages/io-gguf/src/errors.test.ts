import { MetadataValueType, ModelMetadata } from '@smallmind/io-smq';
import { SmallMindError } from '@smallmind/quantization-tensors';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GgufError, GgufFormatError, GgufReadError, GgufWriteError, GgufWriter, MemoryByteSource, openGguf } from './index.js';
import * as pkg from './index.js';
import { NeedMoreBytes, parseGgufHeader } from './header-parser.js';
import { craftGguf } from './test-support/craft.js';
import { scratchDir } from './test-support/fixtures.js';

/** What `fn` throws or rejects with (undefined if it does not fail: the class checks then fail). */
const failureOf = (fn: () => unknown): Promise<unknown> => Promise.resolve().then(fn).then(() => undefined, (e: unknown) => e);


/** The error classes `index.ts` exports; a new one must be added here (and extend SmallMindError). */
const EXPECTED = ['ByteSourceError', 'GgufError', 'GgufFormatError', 'GgufReadError', 'GgufWriteError'];

describe('every io-gguf error is a SmallMindError with a string code', () => {
  const scratch = scratchDir();
  afterAll(() => scratch.cleanup());

  it.each([
    ['GgufFormatError', GgufFormatError, 'BAD_MAGIC', () => openGguf(new MemoryByteSource(new Uint8Array(64)))],
    ['GgufReadError', GgufReadError, 'TENSOR_NOT_FOUND', async () => (await openGguf(new MemoryByteSource(craftGguf()))).readTensorData('missing')],
    [
      'GgufWriteError',
      GgufWriteError,
      'INVALID_METADATA',
      () => GgufWriter.create(join(scratch.dir, 'bad.gguf'), { metadata: new ModelMetadata([['k', { type: MetadataValueType.UINT8, value: 256 }]]), tensors: [] }),
    ],
    // The parser's internal "read more of the file" signal is one too, though it never reaches callers.
    ['NeedMoreBytes', NeedMoreBytes, 'NEED_MORE_BYTES', () => parseGgufHeader(craftGguf().subarray(0, 8), { fileSize: 1000 })],
  ] as const)('%s (%s)', async (name, Class, code, fn) => {
    const error = await failureOf(fn);
    expect(error).toBeInstanceOf(Class);
    if (Class !== NeedMoreBytes) expect(error).toBeInstanceOf(GgufError);
    expect(error).toBeInstanceOf(SmallMindError);
    expect(error).toMatchObject({ name, code });
    expect(typeof (error as SmallMindError).code).toBe('string');
  });

  it('a range past the source is GgufReadError SHORT_READ, caused by the ByteSourceError', async () => {
    const file = await openGguf(new MemoryByteSource(craftGguf()));
    const error = await failureOf(() => file.readRange(new Uint8Array(8), file.fileSize - 4));
    expect(error).toBeInstanceOf(GgufReadError);
    expect(error).toMatchObject({ code: 'SHORT_READ', cause: { name: 'ByteSourceError', code: 'OUT_OF_RANGE' } });
    await file.close();
  });

  it('covers every error class the package exports', () => {
    const errorClasses = Object.entries(pkg).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error);
    expect(errorClasses.map(([name]) => name).sort()).toEqual(EXPECTED.slice().sort());
    for (const [name, Class] of errorClasses) expect(Class === SmallMindError || (Class as { prototype: unknown }).prototype instanceof SmallMindError, name).toBe(true);
  });
});
