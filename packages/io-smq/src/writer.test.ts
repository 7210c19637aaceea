import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmqFormatError, SmqWriteError, type SmqWriteErrorCode } from './errors.js';
import { MetadataValueType as T, ModelMetadata, type MetadataArray, type MetadataValue } from './metadata.js';
import type { SmqProvenance } from './provenance.js';
import { SmqReader } from './reader.js';
import { makeTempDir } from './test-helpers.js';
import { SmqWriter, writeSmq, type SmqTensorDeclaration } from './writer.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
afterEach(() => cleanup());

const empty = new ModelMetadata();
const twoTensors: SmqTensorDeclaration[] = [
  { name: 'a', type: 0, shape: [4], byteLength: 16 },
  { name: 'b', type: 8, shape: [32, 2], byteLength: 68 },
];

async function createError(options: { tensors?: SmqTensorDeclaration[]; metadata?: ModelMetadata; provenance?: SmqProvenance }): Promise<SmqWriteError> {
  try {
    const w = await SmqWriter.create(join(dir, 'x.smq'), { metadata: options.metadata ?? empty, tensors: options.tensors ?? [], ...(options.provenance ? { provenance: options.provenance } : {}) });
    await w.abort();
  } catch (e) {
    if (e instanceof SmqWriteError) return e;
    throw e;
  }
  throw new Error('create() accepted it');
}

describe('SmqWriter.create validation (nothing touches the disk)', () => {
  const tensorCases: Array<[string, SmqTensorDeclaration[], SmqWriteErrorCode, RegExp, RegExp?]> = [
    ['duplicate names', [twoTensors[0] as SmqTensorDeclaration, { ...(twoTensors[0] as SmqTensorDeclaration) }], 'DUPLICATE_TENSOR', /tensors\[1\]\.name/],
    ['an empty name', [{ ...(twoTensors[0] as SmqTensorDeclaration), name: '' }], 'INVALID_TENSOR', /tensors\[0\]\.name/],
    ['a 257-byte name', [{ ...(twoTensors[0] as SmqTensorDeclaration), name: 'é'.repeat(128) + 'x' }], 'INVALID_TENSOR', /name/],
    ['a name with a lone surrogate', [{ ...(twoTensors[0] as SmqTensorDeclaration), name: 'a\ud800' }], 'INVALID_TENSOR', /name/],
    ['a removed type id', [{ name: 't', type: 4, shape: [32], byteLength: 18 }], 'INVALID_TENSOR', /tensors\[0\]\.type/, /UNKNOWN_TENSOR_TYPE/],
    ['an unknown layout', [{ name: 't', type: 0, shape: [4], byteLength: 16, layout: 3 }], 'INVALID_TENSOR', /layout/, /UNKNOWN_LAYOUT/],
    ['no dims', [{ name: 't', type: 0, shape: [], byteLength: 4 }], 'INVALID_TENSOR', /shape/, /NO_DIMS/],
    ['five dims', [{ name: 't', type: 0, shape: [1, 1, 1, 1, 1], byteLength: 4 }], 'INVALID_TENSOR', /shape/, /TOO_MANY_DIMS/],
    ['a zero dim', [{ name: 't', type: 0, shape: [4, 0], byteLength: 0 }], 'INVALID_TENSOR', /shape\[1\]/, /ZERO_DIM/],
    ['a fractional dim', [{ name: 't', type: 0, shape: [4.5], byteLength: 18 }], 'INVALID_TENSOR', /shape\[0\]/, /ZERO_DIM/],
    ['a row that is not whole blocks', [{ name: 't', type: 2, shape: [48], byteLength: 27 }], 'INVALID_TENSOR', /shape\[0\]/, /ROW_NOT_BLOCK_MULTIPLE/],
    ['a byteLength that disagrees', [{ name: 't', type: 2, shape: [64], byteLength: 37 }], 'INVALID_TENSOR', /byteLength/, /SIZE_MISMATCH.*need 36/],
    ['an overflowing size', [{ name: 't', type: 0, shape: [2 ** 30, 2 ** 30], byteLength: 0 }], 'INVALID_TENSOR', /shape/, /SIZE_OVERFLOW/],
  ];
  it.each(tensorCases)('refuses %s', async (_what, tensors, code, field, message) => {
    const e = await createError({ tensors });
    expect(e.code).toBe(code);
    expect(e.field).toMatch(field);
    if (message) expect(e.message).toMatch(message);
    expect(await readdir(dir)).toEqual([]);
  });

  const arr = (elementType: number, values: unknown[]) => ({ elementType, values }) as unknown as MetadataArray;
  let deep: MetadataArray = arr(T.UINT8, []);
  for (let i = 0; i < 8; i++) deep = arr(T.ARRAY, [deep]); // 9 levels
  const metadataCases: Array<[string, string, MetadataValue, RegExp]> = [
    ['UINT8 256', 'k', { type: T.UINT8, value: 256 }, /metadata\["k"\]/],
    ['INT32 1.5', 'k', { type: T.INT32, value: 1.5 }, /"k"/],
    ['UINT32 -1', 'k', { type: T.UINT32, value: -1 }, /"k"/],
    ['UINT64 as a number', 'k', { type: T.UINT64, value: 5 as unknown as bigint }, /"k"/],
    ['UINT64 negative', 'k', { type: T.UINT64, value: -1n }, /"k"/],
    ['INT64 beyond 2^63', 'k', { type: T.INT64, value: 2n ** 63n }, /"k"/],
    ['FLOAT32 as a string', 'k', { type: T.FLOAT32, value: '1' as unknown as number }, /"k"/],
    ['BOOL as a number', 'k', { type: T.BOOL, value: 1 as unknown as boolean }, /"k"/],
    ['a lone surrogate string', 'k', { type: T.STRING, value: '\udc00' }, /"k"/],
    ['an unknown type', 'k', { type: 13 as 0, value: 0 }, /"k"/],
    ['an unknown array element type', 'k', { type: T.ARRAY, value: arr(42, []) }, /"k"/],
    ['a bad array element', 'k', { type: T.ARRAY, value: arr(T.INT8, [1, 2, 200]) }, /metadata\["k"\]\[2\]/],
    ['a bad nested element', 'k', { type: T.ARRAY, value: arr(T.ARRAY, [arr(T.STRING, ['ok', 5])]) }, /metadata\["k"\]\[0\]\[1\]/],
    ['arrays 9 deep', 'k', { type: T.ARRAY, value: deep }, /"k"/],
    ['an empty key', '', { type: T.UINT8, value: 1 }, /metadata\[""\]/],
    ['a 1025-byte key', 'k'.repeat(1025), { type: T.UINT8, value: 1 }, /metadata/],
  ];
  it.each(metadataCases)('refuses metadata with %s', async (_what, key, value, field) => {
    const e = await createError({ metadata: new ModelMetadata([[key, value]]) });
    expect(e.code).toBe('INVALID_METADATA');
    expect(e.field).toMatch(field);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses metadata that is not a ModelMetadata', async () => {
    const e = await createError({ metadata: { 'general.name': 'x' } as unknown as ModelMetadata });
    expect(e).toMatchObject({ code: 'INVALID_METADATA', field: 'metadata' });
  });

  it('accepts arrays exactly 8 deep', async () => {
    let eight: MetadataArray = arr(T.UINT8, [1]);
    for (let i = 0; i < 7; i++) eight = arr(T.ARRAY, [eight]);
    await writeSmq(join(dir, 'eight.smq'), { metadata: new ModelMetadata([['k', { type: T.ARRAY, value: eight }]]), tensors: [] });
    const reader = await SmqReader.open(join(dir, 'eight.smq'));
    let v: MetadataArray = reader.metadata.getArray('k');
    for (let i = 0; i < 7; i++) v = v.values[0] as MetadataArray;
    expect(v).toEqual({ elementType: T.UINT8, values: [1] });
    await reader.close();
  });

  it('refuses bad provenance', async () => {
    expect((await createError({ provenance: { sourceSha256: 'ABCD' } })).field).toBe('provenance.sourceSha256');
    expect((await createError({ provenance: { sourceFileSize: -1 } })).code).toBe('INVALID_PROVENANCE');
    expect((await createError({ provenance: { importerName: 5 as unknown as string } })).field).toBe('provenance.importerName');
  });
});

describe('SmqWriter streaming rules', () => {
  it('refuses out-of-order, undeclared and excess data, and an early finish, staying usable', async () => {
    const path = join(dir, 'order.smq');
    const w = await SmqWriter.create(path, { metadata: empty, tensors: twoTensors });
    await expect(w.writeTensorData('b', new Uint8Array(68))).rejects.toMatchObject({ code: 'OUT_OF_ORDER', field: 'b' });
    await expect(w.writeTensorData('zzz', new Uint8Array(1))).rejects.toThrow(/undeclared tensor "zzz"/);
    await w.writeTensorData('a', new Uint8Array(10));
    await expect(w.writeTensorData('b', new Uint8Array(1))).rejects.toThrow(/expected tensor "a" \(10 of 16 bytes written\)/);
    await expect(w.writeTensorData('a', new Uint8Array(7))).rejects.toMatchObject({ code: 'TOO_MUCH_DATA' });
    await expect(w.finish()).rejects.toMatchObject({ code: 'INCOMPLETE', field: 'a' });
    await w.writeTensorData('a', new Uint8Array(6).fill(1));
    await expect(w.writeTensorData('a', new Uint8Array(1))).rejects.toMatchObject({ code: 'TOO_MUCH_DATA' });
    await expect(w.finish()).rejects.toThrow(/"b" has 0 of 68 bytes/);
    await w.writeTensorData('b', new Uint8Array(68).fill(2));
    await expect(w.writeTensorData('b', new Uint8Array(1))).rejects.toMatchObject({ code: 'TOO_MUCH_DATA' });
    await w.finish();
    await expect(w.writeTensorData('b', new Uint8Array(0))).rejects.toMatchObject({ code: 'WRITER_CLOSED' });
    await expect(w.finish()).rejects.toMatchObject({ code: 'WRITER_CLOSED' });
    const reader = await SmqReader.open(path);
    expect(await reader.readTensorData('a')).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1));
    await reader.close();
  });

  it('refuses a call while the previous one is still running', async () => {
    const w = await SmqWriter.create(join(dir, 'busy.smq'), { metadata: empty, tensors: twoTensors });
    const first = w.writeTensorData('a', new Uint8Array(8));
    await expect(w.writeTensorData('a', new Uint8Array(8))).rejects.toMatchObject({ code: 'CONCURRENT_CALL' });
    await first;
    await w.abort();
  });
});

describe('atomicity', () => {
  it('writes to a temp file next to the target; the target appears only at finish()', async () => {
    const path = join(dir, 'model.smq');
    const w = await SmqWriter.create(path, { metadata: empty, tensors: twoTensors });
    expect(dirname(w.tempPath)).toBe(dir);
    expect(w.tempPath).toMatch(/model\.smq\.[0-9a-f]{12}\.tmp$/);
    await w.writeTensorData('a', new Uint8Array(16));
    await w.writeTensorData('b', new Uint8Array(68));
    expect(await readdir(dir)).toEqual([w.tempPath.slice(dir.length + 1)]);
    await w.finish();
    expect(await readdir(dir)).toEqual(['model.smq']);
    expect((await stat(path)).size).toBe(w.fileLength);
  });

  it('abort() removes the temp file and leaves no target; it is idempotent and a no-op after finish', async () => {
    const path = join(dir, 'aborted.smq');
    const w = await SmqWriter.create(path, { metadata: empty, tensors: twoTensors });
    await w.writeTensorData('a', new Uint8Array(16));
    await w.abort();
    await w.abort();
    expect(await readdir(dir)).toEqual([]);
    await expect(w.writeTensorData('b', new Uint8Array(68))).rejects.toMatchObject({ code: 'WRITER_CLOSED' });
    await writeSmq(path, { metadata: empty, tensors: [] });
    const done = await SmqWriter.create(join(dir, 'done.smq'), { metadata: empty, tensors: [] });
    await done.finish();
    await done.abort();
    expect((await readdir(dir)).sort()).toEqual(['aborted.smq', 'done.smq']);
  });

  it('a process killed mid-write leaves no target file, only a temp file that is not loadable', async () => {
    const path = join(dir, 'crash.smq');
    const packageRoot = fileURLToPath(new URL('..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./crash-child.ts', import.meta.url)), path], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal, stderr).toBe('SIGKILL');
    const tempPath = stdout.trim();
    expect(await readdir(dir)).toEqual([tempPath.slice(dir.length + 1)]);
    expect((await stat(tempPath)).size).toBeGreaterThan(4 << 20); // data had reached the disk
    await expect(SmqReader.open(tempPath)).rejects.toMatchObject({ name: 'SmqFormatError', code: 'BAD_MAGIC', offset: 0 });
  });

  it('refuses an existing target unless overwrite is set, and never touches it', async () => {
    const path = join(dir, 'existing.smq');
    await writeFile(path, 'precious');
    await expect(SmqWriter.create(path, { metadata: empty, tensors: [] })).rejects.toMatchObject({ code: 'TARGET_EXISTS', field: path });
    await expect(writeSmq(path, { metadata: empty, tensors: [] })).rejects.toBeInstanceOf(SmqWriteError);
    expect(await readFile(path, 'utf8')).toBe('precious');
    expect(await readdir(dir)).toEqual(['existing.smq']);
    await writeSmq(path, { metadata: empty, tensors: [], overwrite: true });
    expect((await SmqReader.open(path)).version).toBe(1);
  });

  it('refuses at finish() a target that appeared during the write, keeping it and removing the temp file', async () => {
    const path = join(dir, 'race.smq');
    const w = await SmqWriter.create(path, { metadata: empty, tensors: [] });
    await writeFile(path, 'someone else');
    await expect(w.finish()).rejects.toMatchObject({ code: 'TARGET_EXISTS' });
    expect(await readFile(path, 'utf8')).toBe('someone else');
    expect(await readdir(dir)).toEqual(['race.smq']);
  });

  it('a failure while moving into place removes the temp file', async () => {
    const path = join(dir, 'is-a-dir');
    await mkdir(path);
    await writeFile(join(path, 'keep'), 'x');
    const w = await SmqWriter.create(path, { metadata: empty, tensors: [], overwrite: true });
    await expect(w.finish()).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['is-a-dir']);
    expect(await readdir(path)).toEqual(['keep']);
  });

  it('a file left by a crashed writer is never mistaken for a model', async () => {
    const w = await SmqWriter.create(join(dir, 'left.smq'), { metadata: empty, tensors: twoTensors });
    await w.writeTensorData('a', new Uint8Array(16));
    const e = await SmqReader.open(w.tempPath).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SmqFormatError);
    await w.abort();
  });
});
