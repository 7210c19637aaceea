import { GgmlType, createWeightTensor } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import { createBackend } from './create-backend.js';
import { KernelError } from './errors.js';
import { CONTROL, JOB, chunkRows } from './thread-pool.js';
import { WasmBackend } from './wasm-backend.js';
import { WORKER_SOURCE } from './worker-source.js';
import { expectSameProduct, randomFloats, referenceTensor } from './testing/compare.js';

const MiB = 1 << 20;

function product(tensor: { rows: number; cols: number; matVec(x: Float32Array, y: Float32Array): void }, x: Float32Array): Float32Array {
  const y = new Float32Array(tensor.rows);
  tensor.matVec(x, y);
  return y;
}

describe('memory shards', () => {
  it('spreads weights over several memories when one is full, and every product stays right', async () => {
    const messages: string[] = [];
    const backend = await createBackend({ threads: 2, shardBytes: 2 * MiB, arenaBytes: MiB, minParallelWork: 0, warmUpRounds: 0, logger: { debug: (m) => messages.push(m) } });
    try {
      expect(backend).toBeInstanceOf(WasmBackend);
      // Five ~300 KiB tensors of different formats: at most three fit next to a 1 MiB arena.
      const types = [GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.Q4_0];
      const tensors = types.map((type, i) => {
        const reference = referenceTensor(type, type === GgmlType.F16 ? 150 : 600, 1024, i + 1);
        return { reference, fast: backend.prepare(reference) };
      });
      expect((backend as WasmBackend).shardCount).toBeGreaterThan(1);
      expect(messages.filter((m) => m.includes('shard')).length).toBe((backend as WasmBackend).shardCount);
      const x = randomFloats(1024, 42);
      for (const { reference, fast } of tensors) {
        expectSameProduct(reference.toFloat32(), 1024, x, 1, product(reference, x), product(fast, x));
        expect(fast.data).toEqual(reference.data);
      }
    } finally {
      await backend.dispose();
    }
  });

  it('keeps a tensor that cannot fit one memory on the reference path, and says so', async () => {
    const infos: string[] = [];
    const backend = await createBackend({ threads: 1, shardBytes: 2 * MiB, arenaBytes: MiB, warmUpRounds: 0, logger: { info: (m) => infos.push(m) } });
    try {
      const big = referenceTensor(GgmlType.Q8_0, 1024, 1024, 1); // 1.06 MiB of blocks + 1 MiB arena > 2 MiB
      expect(backend.prepare(big)).toBe(big);
      expect(infos.some((m) => m.includes('does not fit one kernel memory shard'))).toBe(true);
    } finally {
      await backend.dispose();
    }
  });
});

describe('fallbacks and the reference backend', () => {
  it('returns tensors of formats without a kernel unchanged, logging once per type', async () => {
    const infos: string[] = [];
    const backend = await createBackend({ threads: 1, warmUpRounds: 0, logger: { info: (m) => infos.push(m) } });
    try {
      const iq3 = createWeightTensor(GgmlType.IQ3_S, new Uint8Array(110), [256, 1]);
      expect(backend.prepare(iq3)).toBe(iq3);
      expect(backend.prepare(iq3)).toBe(iq3);
      expect(infos.filter((m) => m.includes('no WebAssembly kernel for IQ3_S'))).toHaveLength(1);
    } finally {
      await backend.dispose();
    }
  });

  it("prefer: 'reference' gives the identity backend", async () => {
    const backend = await createBackend({ prefer: 'reference' });
    const tensor = referenceTensor(GgmlType.Q4_0, 2, 32, 1);
    expect(backend.name).toBe('reference');
    expect(backend.threads).toBe(1);
    expect(backend.prepare(tensor)).toBe(tensor);
    await backend.dispose();
  });

  it('preparing a prepared tensor returns it as is', async () => {
    const backend = await createBackend({ threads: 1, warmUpRounds: 0 });
    const fast = backend.prepare(referenceTensor(GgmlType.Q4_0, 2, 32, 1));
    expect(backend.prepare(fast)).toBe(fast);
    await backend.dispose();
  });
});

describe('bad input', () => {
  it('rejects bad options with BAD_OPTIONS naming the option', async () => {
    for (const [options, field] of [
      [{ threads: 0 }, 'threads'],
      [{ threads: 1.5 }, 'threads'],
      [{ shardBytes: 5 * MiB + 1 }, 'shardBytes'],
      [{ shardBytes: 8 * 2 ** 30 }, 'shardBytes'],
      [{ arenaBytes: 100 }, 'arenaBytes'],
      [{ prefer: 'gpu' as 'wasm' }, 'prefer'],
    ] as const) {
      const error = await createBackend(options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KernelError);
      expect((error as KernelError).code).toBe('BAD_OPTIONS');
      expect((error as KernelError).field).toBe(field);
    }
  });

  it('rejects short buffers and bad batch sizes with BAD_ARGUMENT, and short tensor data with BAD_TENSOR', async () => {
    const backend = await createBackend({ threads: 1, warmUpRounds: 0 });
    try {
      const fast = backend.prepare(referenceTensor(GgmlType.Q8_0, 4, 64, 1));
      const expectCode = (run: () => void, code: string, field?: string) => {
        try {
          run();
          expect.fail('did not throw');
        } catch (error) {
          expect(error).toBeInstanceOf(KernelError);
          expect((error as KernelError).code).toBe(code);
          if (field !== undefined) expect((error as KernelError).field).toBe(field);
        }
      };
      expectCode(() => fast.matVec(new Float32Array(63), new Float32Array(4)), 'BAD_ARGUMENT', 'x');
      expectCode(() => fast.matVec(new Float32Array(64), new Float32Array(3)), 'BAD_ARGUMENT', 'y');
      expectCode(() => fast.matMul(new Float32Array(128), 2.5, new Float32Array(8)), 'BAD_ARGUMENT', 'n');
      expectCode(() => fast.matMul(new Float32Array(128), 3, new Float32Array(12)), 'BAD_ARGUMENT', 'x');
      expectCode(() => fast.dequantizeRow(4, new Float32Array(64)), 'BAD_ARGUMENT', 'row');
      const lying = { ...referenceTensor(GgmlType.Q8_0, 4, 64, 1), rows: 8 };
      expectCode(() => backend.prepare(lying), 'BAD_TENSOR');
    } finally {
      await backend.dispose();
    }
  });
});

describe('dispose', () => {
  it('stops the workers; prepared tensors and the backend then throw BACKEND_DISPOSED', async () => {
    const backend = await createBackend({ threads: 2, minParallelWork: 0, warmUpRounds: 0 });
    const reference = referenceTensor(GgmlType.Q4_0, 16, 64, 3);
    const fast = backend.prepare(reference);
    const x = randomFloats(64, 1);
    expectSameProduct(reference.toFloat32(), 64, x, 1, product(reference, x), product(fast, x));
    await backend.dispose();
    await backend.dispose(); // idempotent
    expect(() => fast.matVec(x, new Float32Array(16))).toThrow(expect.objectContaining({ code: 'BACKEND_DISPOSED' }));
    expect(() => backend.prepare(reference)).toThrow(expect.objectContaining({ code: 'BACKEND_DISPOSED' }));
  });
});

describe('worker protocol', () => {
  it('idle workers sleep after a bounded spin instead of burning a core', async () => {
    const backend = await createBackend({ threads: 2, minParallelWork: 0, warmUpRounds: 0 });
    try {
      const reference = referenceTensor(GgmlType.Q4_0, 64, 256, 2);
      const fast = backend.prepare(reference);
      const x = randomFloats(256, 3);
      expectSameProduct(reference.toFloat32(), 256, x, 1, product(reference, x), product(fast, x));
      await new Promise((resolve) => setTimeout(resolve, 100)); // past the spin window
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, 400));
      const used = process.cpuUsage(before);
      // A spinning worker would use ~400 ms of CPU here; an idle process uses a few.
      expect((used.user + used.system) / 1000).toBeLessThan(150);
    } finally {
      await backend.dispose();
    }
  });

  it('the worker source uses the same control word offsets as the pool', () => {
    for (const [name, offset] of [...Object.entries(CONTROL), ...Object.entries(JOB)]) {
      expect(WORKER_SOURCE, name).toMatch(new RegExp(`\\b${name} = ${offset}\\b`));
    }
  });

  it('chunks cover every row, about eight per thread, never fewer than eight rows', () => {
    expect(chunkRows(7, 2)).toBe(8);
    expect(chunkRows(2048, 2)).toBe(128);
    expect(chunkRows(32000, 2)).toBe(2000);
    expect(chunkRows(5633, 2)).toBe(353);
    expect(Math.ceil(5633 / chunkRows(5633, 2)) * chunkRows(5633, 2)).toBeGreaterThanOrEqual(5633);
  });

  it('dequantizeRow and toFloat32 read the copy in kernel memory', async () => {
    const backend = await createBackend({ threads: 1, warmUpRounds: 0 });
    const reference = referenceTensor(GgmlType.Q5_K, 3, 512, 8);
    const fast = backend.prepare(reference);
    expect(fast.toFloat32()).toEqual(reference.toFloat32());
    const row = new Float32Array(520);
    fast.dequantizeRow(2, row, 8);
    expect(row.subarray(8)).toEqual(reference.toFloat32().subarray(1024));
    await backend.dispose();
  });
});

describe('allocate (zero-copy loading)', () => {
  it('returns a prepared tensor whose data the caller fills; products then equal prepare()', async () => {
    const backend = await createBackend({ threads: 2, minParallelWork: 0, warmUpRounds: 0 });
    try {
      const reference = referenceTensor(GgmlType.Q4_K, 24, 512, 6);
      const placed = backend.allocate!(GgmlType.Q4_K, 512, 24)!;
      expect(placed.type).toBe(GgmlType.Q4_K);
      expect(placed.data.length).toBe(reference.data.length);
      expect(placed.data.every((b) => b === 0)).toBe(true);
      placed.data.set(reference.data); // what a reader filling kernel memory straight from the file does
      const x = randomFloats(512, 2);
      expect(product(placed, x)).toEqual(product(backend.prepare(reference), x));
      expect(backend.prepare(placed)).toBe(placed);
    } finally {
      await backend.dispose();
    }
  });

  it('is undefined where prepare would keep the tensor on the reference path, and rejects bad shapes', async () => {
    const backend = await createBackend({ threads: 1, warmUpRounds: 0 });
    try {
      expect(backend.allocate!(GgmlType.IQ3_S, 256, 1)).toBeUndefined();
      expect(() => backend.allocate!(GgmlType.Q8_0, 33, 2)).toThrow(expect.objectContaining({ code: 'BAD_TENSOR', typeName: 'Q8_0' }));
      expect(() => backend.allocate!(GgmlType.Q8_0, 32, 0)).toThrow(expect.objectContaining({ code: 'BAD_TENSOR' }));
      expect((await createBackend({ prefer: 'reference' })).allocate!(GgmlType.Q8_0, 32, 2)).toBeUndefined();
    } finally {
      await backend.dispose();
    }
  });
});
