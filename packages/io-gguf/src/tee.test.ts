/**
 * GgufTeeSource: a model's tensor source that writes the SMQ import from the same bytes. The import it
 * writes must be the importer's own (every tensor's bytes, metadata, provenance), and a failing cache write
 * must cost the cache, never the read.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryByteSource, MemoryWriteTarget, SmqReader, type SmqWriteTarget } from '@smallmind/io-smq';
import { describe, expect, it } from 'vitest';
import { GgufImporter, openGguf } from './index.js';
import { REPO_FIXTURES } from './test-support/fixtures.js';

const gguf = new Uint8Array(readFileSync(join(REPO_FIXTURES, 'stories260K', 'stories260K-Q4_0.gguf')));

/** Reads like a loader: the 2-D tensors into targets of their own, the rest through readTensorData afterwards. */
async function loadLike(source: { tensors: readonly { name: string; shape: readonly number[]; byteLength: number }[]; readTensorsInto: GgufImporter['gguf']['readTensorsInto']; readTensorData(name: string): Promise<Uint8Array> }) {
  const matrices = source.tensors.filter((t) => t.shape.length >= 2).map((t) => ({ name: t.name, target: new Uint8Array(t.byteLength) }));
  const order: string[] = [];
  await source.readTensorsInto(matrices, { onTensor: (name) => order.push(name) });
  const placed = new Map<string, Uint8Array>(matrices.map((m) => [m.name, m.target]));
  for (const t of source.tensors) if (!placed.has(t.name)) placed.set(t.name, await source.readTensorData(t.name));
  return { placed, order };
}

describe('GgufTeeSource', () => {
  it('hands every tensor to the reader and writes the same SMQ the importer writes', async () => {
    const reference = await openGguf(new MemoryByteSource(gguf));
    const importer = await GgufImporter.fromSource(new MemoryByteSource(gguf), 'stories260K-Q4_0.gguf');
    const memory = new MemoryWriteTarget('tee.smq');
    const progress: number[] = [];
    const tee = await importer.teeOnto(memory.open, { onProgress: (p) => progress.push(p.tensorsDone) });
    try {
      const { placed, order } = await loadLike(tee);
      expect(tee.imported).toBe(true);
      expect(tee.cacheError).toBeUndefined();
      // The caller hears of the tensors it asked for only, in file order.
      const matrices = reference.tensors.filter((t) => t.shape.length >= 2).sort((a, b) => a.offset - b.offset);
      expect(order).toEqual(matrices.map((t) => t.name));
      // Every tensor written, counted once each.
      expect(progress).toEqual(reference.tensors.map((_, i) => i + 1));
      const smq = await SmqReader.fromBytes(memory.bytes());
      expect(smq.metadata.keys()).toEqual(reference.metadata.keys());
      expect(smq.provenance).toMatchObject({ sourceFileName: 'stories260K-Q4_0.gguf', sourceFileSize: gguf.length });
      for (const t of reference.tensors) {
        const bytes = await reference.readTensorData(t.name);
        expect(placed.get(t.name), t.name).toEqual(bytes);
        expect(await smq.readTensorData(t.name), t.name).toEqual(bytes);
        expect(smq.tensor(t.name)).toMatchObject({ type: t.type, shape: t.shape, byteLength: t.byteLength });
      }
      await smq.close();
    } finally {
      await Promise.all([tee.close(), reference.close()]);
    }
  });

  it('a cache write that fails abandons the import (target aborted), not the read', async () => {
    const importer = await GgufImporter.fromSource(new MemoryByteSource(gguf), 'm.gguf');
    let aborted = false;
    let writes = 0;
    const open = (): Promise<SmqWriteTarget> =>
      Promise.resolve({
        path: 'full.smq',
        tempPath: 'full.smq.tmp',
        write: () => (++writes > 1 ? Promise.reject(new Error('quota exceeded')) : Promise.resolve()),
        commit: () => Promise.reject(new Error('must not commit')),
        abort: () => {
          aborted = true;
          return Promise.resolve();
        },
      });
    const tee = await importer.teeOnto(open, { chunkBytes: 1024 });
    try {
      const { placed } = await loadLike(tee);
      expect(placed.size).toBe(tee.tensors.length);
      expect(tee.imported).toBe(false);
      expect((tee.cacheError as Error).message).toContain('quota exceeded');
      expect(aborted).toBe(true);
    } finally {
      await tee.close();
    }
  });

  it('closing before the stream completed aborts the import; an aborted signal stops the stream', async () => {
    let aborted = 0;
    const target = (): Promise<SmqWriteTarget> =>
      Promise.resolve({ path: 'x.smq', tempPath: 'x.tmp', write: () => Promise.resolve(), commit: () => Promise.resolve(), abort: () => Promise.resolve(void aborted++) });
    const first = await (await GgufImporter.fromSource(new MemoryByteSource(gguf), 'm.gguf')).teeOnto(target);
    await first.close();
    expect(aborted).toBe(1);

    const controller = new AbortController();
    const second = await (await GgufImporter.fromSource(new MemoryByteSource(gguf), 'm.gguf')).teeOnto(target, { signal: controller.signal });
    const targets = second.tensors.map((t) => ({ name: t.name, target: new Uint8Array(t.byteLength) }));
    let seen = 0;
    const read = second.readTensorsInto(targets, {
      onTensor: () => {
        if (++seen === 2) controller.abort(new Error('stop'));
      },
    });
    await expect(read).rejects.toThrow('stop');
    expect(second.imported).toBe(false);
    await second.close();
    expect(aborted).toBe(2);
  });
});
