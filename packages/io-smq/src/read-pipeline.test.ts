import { describe, expect, it } from 'vitest';
import { pipelineReads, tensorChunks } from './read-pipeline.js';

describe('pipelineReads', () => {
  it('keeps at most inFlight reads outstanding and consumes in order, whatever order reads finish in', async () => {
    let running = 0;
    let most = 0;
    const consumed: number[] = [];
    const read = async (n: number): Promise<void> => {
      running++;
      most = Math.max(most, running);
      // Later chunks finish first: consumption must still follow the chunks' order.
      await new Promise((resolve) => setTimeout(resolve, (10 - n) * 2));
      running--;
    };
    await pipelineReads([0, 1, 2, 3, 4, 5, 6, 7, 8, 9][Symbol.iterator](), read, (n) => consumed.push(n), 3);
    expect(consumed).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(3);
  });

  it('on a failure stops starting reads, lets the running ones settle, then throws', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    const read = async (n: number): Promise<void> => {
      started.push(n);
      await new Promise((resolve) => setTimeout(resolve, n === 1 ? 1 : 20));
      settled.push(n);
      if (n === 1) throw new Error('read 1 failed');
    };
    const consumed: number[] = [];
    await expect(pipelineReads([0, 1, 2, 3, 4, 5][Symbol.iterator](), read, (n) => consumed.push(n), 3)).rejects.toThrow('read 1 failed');
    expect(consumed).toEqual([0]);
    // Chunks 0-2 started, 3 once 0 was consumed; none after the failure, and every started read settled.
    expect(started).toEqual([0, 1, 2, 3]);
    expect([...settled].sort()).toEqual([0, 1, 2, 3]);
  });

  it('a throwing consumer fails the pipeline the same way', async () => {
    const settled: number[] = [];
    const read = async (n: number): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      settled.push(n);
    };
    const consume = (n: number): void => {
      if (n === 2) throw new Error('bad chunk 2');
    };
    await expect(pipelineReads([0, 1, 2, 3, 4, 5, 6][Symbol.iterator](), read, consume, 2)).rejects.toThrow('bad chunk 2');
    // The next read starts before a chunk is consumed: 0-4 started (4 with chunk 2), all settled, 5-6 never.
    expect([...settled].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses a non-positive inFlight', async () => {
    await expect(pipelineReads([][Symbol.iterator](), () => Promise.resolve(), () => {}, 0)).rejects.toThrow(RangeError);
  });
});

describe('tensorChunks', () => {
  it('cuts each target into views of at most chunkBytes at the right file positions; an empty tensor is one last chunk', () => {
    const a = new Uint8Array(10);
    const b = new Uint8Array(0);
    const c = new Uint8Array(4);
    const chunks = [...tensorChunks([{ offset: 100, target: a }, { offset: 200, target: b }, { offset: 300, target: c }], 4)];
    expect(chunks.map((k) => [k.job, k.position, k.bytes.length, k.last])).toEqual([
      [0, 100, 4, false],
      [0, 104, 4, false],
      [0, 108, 2, true],
      [1, 200, 0, true],
      [2, 300, 4, true],
    ]);
    expect(chunks[1]!.bytes.buffer).toBe(a.buffer);
    expect(chunks[1]!.bytes.byteOffset).toBe(4);
  });
});
