import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GgmlType } from '@smallmind/quantization-tensors';
import { afterAll, describe, expect, it } from 'vitest';
import { FileByteSource, GgufReadError, MemoryByteSource, openGguf, parseGgufHeader, readGguf } from './index.js';
import type { ByteSource } from './index.js';
import { craftGguf, f32Tensor, kv } from './test-support/craft.js';
import { REPO_FIXTURES, scratchDir } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

function filledFile(): Uint8Array {
  const bytes = craftGguf({
    kvs: [kv.str('general.name', 'reader test'), kv.str('padding', 'p'.repeat(3000))],
    tensors: [f32Tensor('a', [100], 0), { name: 'b', dims: [64], type: GgmlType.Q8_0, offset: 416 }],
  });
  const h = parseGgufHeader(bytes);
  // Distinct data so a read from the wrong place is visible.
  for (let i = h.dataOffset; i < bytes.length; i++) bytes[i] = (i * 7 + 3) & 0xff;
  return bytes;
}

describe('readGguf / openGguf', () => {
  it('reads the header incrementally: a 16-byte first read gives the same result as the whole file', async () => {
    const bytes = filledFile();
    const whole = parseGgufHeader(bytes);
    const file = await openGguf(new MemoryByteSource(bytes), { initialReadBytes: 16 });
    expect({ ...whole }).toEqual({
      version: file.version,
      metadata: file.metadata,
      alignment: file.alignment,
      dataOffset: file.dataOffset,
      headerByteLength: file.headerByteLength,
      tensors: file.tensors,
    });
    await file.close();
  });

  it('reads tensor bytes at their offsets, whole and in chunks', async () => {
    const bytes = filledFile();
    const path = join(scratch.dir, 'filled.gguf');
    await writeFile(path, bytes);
    const file = await readGguf(path, { initialReadBytes: 100 });
    try {
      for (const t of file.tensors) {
        const expected = bytes.subarray(t.offset, t.offset + t.byteLength);
        expect(await file.readTensorData(t.name)).toEqual(expected);
        const chunks: number[] = [];
        for await (const chunk of file.readTensorChunks(t.name, 48)) chunks.push(...chunk);
        expect(Uint8Array.from(chunks)).toEqual(expected);
      }
      expect(file.fileSize).toBe(bytes.length);
    } finally {
      await file.close();
    }
  });

  it('readTensorsInto fills many targets in one stream in file order, with typed errors for bad targets', async () => {
    const bytes = filledFile();
    const file = await openGguf(new MemoryByteSource(bytes));
    try {
      const [a, b] = [file.tensor('a'), file.tensor('b')];
      const targets = [
        { name: 'b', target: new Uint8Array(b.byteLength) },
        { name: 'a', target: new Uint8Array(a.byteLength) },
      ];
      const order: string[] = [];
      await file.readTensorsInto(targets, { onTensor: (name, length) => order.push(`${name}:${length}`) });
      expect(targets[0]!.target).toEqual(bytes.subarray(b.offset, b.offset + b.byteLength));
      expect(targets[1]!.target).toEqual(bytes.subarray(a.offset, a.offset + a.byteLength));
      expect(order).toEqual([`a:${a.byteLength}`, `b:${b.byteLength}`]);
      await expect(file.readTensorsInto([{ name: 'a', target: new Uint8Array(a.byteLength + 1) }])).rejects.toMatchObject({ code: 'TARGET_SIZE_MISMATCH', tensorName: 'a' });
      const twice = [0, 1].map(() => ({ name: 'a', target: new Uint8Array(a.byteLength) }));
      await expect(file.readTensorsInto(twice)).rejects.toMatchObject({ code: 'DUPLICATE_TARGET', tensorName: 'a' });
      await expect(file.readTensorsInto([{ name: 'nope', target: new Uint8Array(1) }])).rejects.toMatchObject({ code: 'TENSOR_NOT_FOUND' });
    } finally {
      await file.close();
    }
  });

  it('readTensorsInto on a source that ends early (truncated while open) is SHORT_READ', async () => {
    const bytes = filledFile();
    const start = parseGgufHeader(bytes).tensors.find((t) => t.name === 'b')!.offset;
    const whole = new MemoryByteSource(bytes);
    // The header (read from 0) is whole; reads of b's data give only its first 10 bytes.
    const truncated: ByteSource = {
      size: bytes.length,
      read: (offset, length) => (offset >= start ? whole.read(offset, Math.min(length, Math.max(0, start + 10 - offset))) : whole.read(offset, length)),
      close: () => whole.close(),
    };
    const file = await openGguf(truncated);
    try {
      const b = file.tensor('b');
      await expect(file.readTensorsInto([{ name: 'b', target: new Uint8Array(b.byteLength) }])).rejects.toMatchObject({ name: 'GgufReadError', code: 'SHORT_READ' });
    } finally {
      await file.close();
    }
  });

  it('names a missing tensor and refuses reads after close', async () => {
    const file = await openGguf(new MemoryByteSource(filledFile()));
    await expect(file.readTensorData('nope')).rejects.toMatchObject({ name: 'GgufReadError', code: 'TENSOR_NOT_FOUND', tensorName: 'nope' });
    await file.close();
    await expect(file.readTensorData('a')).rejects.toBeInstanceOf(GgufReadError);
    await expect(file.readTensorData('a')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('rejects an invalid file with a GgufFormatError and closes it', async () => {
    const bytes = filledFile();
    bytes[0] = 0;
    await expect(openGguf(new MemoryByteSource(bytes))).rejects.toMatchObject({ name: 'GgufFormatError', code: 'BAD_MAGIC' });
  });

  it('reads tensors beyond 4 GiB in a sparse file', async () => {
    const far = 4 * 2 ** 30 + 4096; // relative offset above 2^32
    const header = craftGguf({ tensors: [f32Tensor('near', [8], 0), f32Tensor('far', [8], far)], dataBytes: 0 });
    const dataOffset = header.length;
    const path = join(scratch.dir, 'sparse.gguf');
    const handle = await open(path, 'w');
    try {
      await handle.write(header, 0, header.length, 0);
      const marker = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
      await handle.write(marker, 0, marker.length, dataOffset + far);
      await handle.truncate(dataOffset + far + 32);
    } finally {
      await handle.close();
    }
    const file = await readGguf(path);
    try {
      const t = file.tensor('far');
      expect(t.offset).toBe(dataOffset + far);
      expect(t.offset).toBeGreaterThan(2 ** 32);
      expect(Array.from(await file.readTensorData('far'))).toEqual(Array.from({ length: 32 }, (_, i) => 200 - i));
    } finally {
      await file.close();
    }
  });

  it('reads the header of a real fixture without reading its tensor data', async () => {
    const path = join(REPO_FIXTURES, 'stories260K/stories260K-F32.gguf');
    const reads: Array<[number, number]> = [];
    const source = await FileByteSource.open(path);
    // Only `read`, as a Blob or HTTP-range source would offer: the reader must not need `readInto`.
    const spy: ByteSource = {
      size: source.size,
      read: (offset, length) => {
        reads.push([offset, length]);
        return source.read(offset, length);
      },
      close: () => source.close(),
    };
    const file = await openGguf(spy, { initialReadBytes: 4096 });
    const bytesRead = reads.reduce((sum, [, n]) => sum + n, 0);
    expect(bytesRead).toBeLessThan(2 * file.dataOffset + 4096);
    expect(bytesRead).toBeLessThan(file.fileSize / 10);
    await file.close();
  });
});
