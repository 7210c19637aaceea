/**
 * Every single corrupted byte of a small SMQ file is detected: in the header (prefix, sections, CRC,
 * padding) at open, in a tensor's data or trailing padding when that tensor is read (SPEC.md §1, §5).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ByteSource } from './byte-source.js';
import { align64 } from './constants.js';
import { SmqFormatError } from './errors.js';
import { MetadataValueType as T } from './metadata.js';
import { SmqReader } from './reader.js';
import { encodeSmqBytes, type RawTensor } from './smq-bytes.js';
import { everyTypeMetadata, makeTempDir, readU64 } from './test-helpers.js';

const tensors: RawTensor[] = [
  { name: 'token_embd.weight', type: 2, shape: [32, 3], data: Uint8Array.from({ length: 54 }, (_, i) => (i * 7 + 3) & 0xff) },
  { name: 'norm', type: 0, shape: [5], data: new Uint8Array(20) }, // all zero: a flip must still be caught
  { name: 'blk.0.ffn', type: 8, shape: [32, 2], data: Uint8Array.from({ length: 68 }, (_, i) => 255 - i) },
];
const file = encodeSmqBytes({ metadata: everyTypeMetadata(), provenance: [['importer.name', { type: T.STRING, value: 'test' }]], tensors });

type Outcome = { stage: 'open'; code: string } | { stage: 'read'; failed: string[] } | { stage: 'undetected' };

async function outcome(bytes: Uint8Array): Promise<Outcome> {
  let reader: SmqReader;
  try {
    reader = await SmqReader.fromBytes(bytes);
  } catch (e) {
    if (!(e instanceof SmqFormatError)) throw e;
    return { stage: 'open', code: e.code };
  }
  const failed: string[] = [];
  for (const t of reader.tensors) {
    try {
      await reader.readTensorData(t.name);
    } catch (e) {
      if (!(e instanceof SmqFormatError) || e.tensor !== t.name) throw e;
      failed.push(t.name);
    }
  }
  return failed.length > 0 ? { stage: 'read', failed } : { stage: 'undetected' };
}

/** Which tensor's data-or-padding range holds byte `i`, if any. */
function tensorOwning(i: number, reader: SmqReader): string | undefined {
  return reader.tensors.find((t) => i >= t.offset && i < align64(t.offset + t.byteLength))?.name;
}

describe('single-byte corruption', () => {
  it('the file under test has header padding, tensor padding, and ends at a tensor', async () => {
    const reader = await SmqReader.fromBytes(file);
    const headerLength = readU64(file, 16);
    expect(align64(headerLength)).toBeGreaterThan(headerLength);
    expect(reader.tensors.every((t) => t.byteLength % 64 !== 0)).toBe(true);
    expect(await outcome(file)).toEqual({ stage: 'undetected' });
  });

  it('is detected for every byte and several flip patterns: header at open, data at read of its tensor', async () => {
    const reader = await SmqReader.fromBytes(file);
    const dataOffset = readU64(file, 24);
    const counts = { open: 0, read: 0 };
    for (let i = 0; i < file.length; i++) {
      for (const mask of [0x01, 0x80, 0xff, 0x5a]) {
        const bad = file.slice();
        bad[i] = (bad[i] ?? 0) ^ mask;
        const result = await outcome(bad);
        const where = `byte ${i} ^ 0x${mask.toString(16)}`;
        if (i < dataOffset) {
          expect(result.stage, where).toBe('open');
          counts.open++;
        } else {
          expect(result, where).toEqual({ stage: 'read', failed: [tensorOwning(i, reader)] });
          counts.read++;
        }
      }
    }
    expect(counts.open + counts.read).toBe(file.length * 4);
    expect(counts.read).toBeGreaterThan(0);
  });

  it('is detected through the file API too (sampled bytes)', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const path = join(dir, 'c.smq');
      const dataOffset = readU64(file, 24);
      for (const i of [0, 9, 30, 61, 64, 200, dataOffset - 1, dataOffset, dataOffset + 60, file.length - 1]) {
        const bad = file.slice();
        bad[i] = (bad[i] ?? 0) ^ 0x04;
        await writeFile(path, bad);
        expect((await readFile(path))[i]).toBe(bad[i]);
        const open = SmqReader.open(path);
        if (i < dataOffset) {
          await expect(open, `byte ${i}`).rejects.toBeInstanceOf(SmqFormatError);
          continue;
        }
        const reader = await open;
        const results = await Promise.allSettled(reader.tensors.map((t) => reader.readTensorData(t.name)));
        expect(results.filter((r) => r.status === 'rejected').length, `byte ${i}`).toBe(1);
        await reader.close();
      }
    } finally {
      await cleanup();
    }
  });
});

describe('a tensor larger than one read chunk (reads overlap the checksum)', () => {
  // 40 MiB + 20 bytes of F32-typed bytes: three 16 MiB chunks, the last one short, read with several in flight.
  const bigLength = (40 << 20) + 4 * 5;
  const big = new Uint8Array(bigLength);
  for (let i = 0; i < bigLength; i++) big[i] = (i * 31 + (i >>> 12)) & 0xff;
  const bigFile = encodeSmqBytes({ metadata: everyTypeMetadata(), provenance: [], tensors: [{ name: 'big', type: 0, shape: [bigLength / 4], data: big }] });

  it('reads it back exactly', async () => {
    const reader = await SmqReader.fromBytes(bigFile);
    // Buffer.equals: vitest's deep equality walks 10 M elements one by one.
    expect(Buffer.from(await reader.readTensorData('big')).equals(big)).toBe(true);
  });

  it.each([0, 16 << 20, (32 << 20) + 17, bigLength - 1])('detects a flipped byte at data offset %i', async (at) => {
    const reader = await SmqReader.fromBytes(bigFile);
    const damaged = bigFile.slice();
    damaged[reader.tensors[0]!.offset + at]! ^= 0x40;
    await expect((await SmqReader.fromBytes(damaged)).readTensorData('big')).rejects.toMatchObject({ code: 'TENSOR_CHECKSUM_MISMATCH', tensor: 'big' });
  });

  it('reports data ending in the middle chunk as TRUNCATED', async () => {
    const reader = await SmqReader.fromBytes(bigFile);
    const cut = reader.tensors[0]!.offset + (20 << 20);
    // The header says the tensor is whole; the source's data ends inside the second chunk.
    const short: ByteSource = {
      size: bigFile.length,
      read: async (offset, length) => bigFile.slice(offset, Math.min(offset + length, Math.max(offset, cut))),
      close: async () => {},
    };
    const shortReader = await SmqReader.fromSource(short);
    await expect(shortReader.readTensorData('big')).rejects.toMatchObject({ code: 'TRUNCATED', tensor: 'big' });
  });
});

describe('readTensorsInto (one read stream over many tensors)', () => {
  const targetsOf = (reader: SmqReader) => [...reader.tensors].reverse().map((t) => ({ name: t.name, target: new Uint8Array(t.byteLength) }));

  it('fills every target exactly and reports tensors in file order', async () => {
    const reader = await SmqReader.fromBytes(file);
    const targets = targetsOf(reader); // asked for in reverse: the reader still streams in file order
    const done: string[] = [];
    await reader.readTensorsInto(targets, { onTensor: (name, byteLength) => done.push(`${name}:${byteLength}`) });
    expect(done).toEqual(reader.tensors.map((t) => `${t.name}:${t.byteLength}`));
    for (const t of tensors) expect(targets.find((x) => x.name === t.name)!.target).toEqual(t.data);
  });

  it('fails at the corrupted tensor (data or padding), after reporting only the ones before it', async () => {
    const reader = await SmqReader.fromBytes(file);
    const dataOffset = readU64(file, 24);
    let checked = 0;
    for (let i = dataOffset; i < file.length; i++) {
      const owner = tensorOwning(i, reader);
      if (owner === undefined) continue;
      const bad = file.slice();
      bad[i] = (bad[i] ?? 0) ^ 0x10;
      const badReader = await SmqReader.fromBytes(bad);
      const done: string[] = [];
      await expect(badReader.readTensorsInto(targetsOf(badReader), { onTensor: (name) => done.push(name) }), `byte ${i}`).rejects.toMatchObject({ tensor: owner });
      expect(done, `byte ${i}`).toEqual(reader.tensors.slice(0, reader.tensors.findIndex((t) => t.name === owner)).map((t) => t.name));
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('rejects a wrong-sized target, an unknown tensor and a tensor asked for twice before reading', async () => {
    const reader = await SmqReader.fromBytes(file);
    const name = tensors[0]!.name;
    await expect(reader.readTensorsInto([{ name, target: new Uint8Array(1) }])).rejects.toMatchObject({ name: 'SmqReadError', code: 'TARGET_SIZE_MISMATCH' });
    await expect(reader.readTensorsInto([{ name: 'nope', target: new Uint8Array(1) }])).rejects.toMatchObject({ code: 'TENSOR_NOT_FOUND' });
    const twice = [0, 1].map(() => ({ name, target: new Uint8Array(54) }));
    await expect(reader.readTensorsInto(twice)).rejects.toMatchObject({ code: 'DUPLICATE_TARGET' });
  });
});
