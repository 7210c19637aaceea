import { GgmlType, createWeightTensor, type GgmlTypeId, type IWeightTensor } from '@smallmind/quantization-tensors';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { KernelBackend } from './backend.js';
import { createBackend } from './create-backend.js';
import { KernelError } from './errors.js';
import { multiplyShared } from './multiply-shared.js';
import type { WasmBackend, WasmWeightTensor } from './wasm-backend.js';
import { randomFloats, referenceTensor } from './testing/compare.js';

const backends = new Map<number, KernelBackend>();
beforeAll(async () => {
  for (const threads of [1, 2]) backends.set(threads, await createBackend({ threads, minParallelWork: 0, warmUpRounds: 1 }));
});
afterAll(async () => {
  for (const backend of backends.values()) await backend.dispose();
});

/** Each tensor's own matVec (n = 1) or matMul: what multiplyShared must reproduce bit for bit. */
function separately(weights: readonly IWeightTensor[], x: Float32Array, n: number): Float32Array[] {
  return weights.map((w) => {
    const out = new Float32Array(n * w.rows);
    if (n === 1) w.matVec(x, out);
    else w.matMul(x, n, out);
    return out;
  });
}

function shared(weights: readonly IWeightTensor[], x: Float32Array, n: number): Float32Array[] {
  const outs = weights.map((w) => new Float32Array(n * w.rows).fill(Number.NaN));
  multiplyShared(weights, x, n, outs);
  return outs;
}

// Q/K/V of a Q4_K_M layer (V in Q6_K: same Q8_K activations), gate/up in Q4_0 + Q8_0 (Q8_0
// activations), and a mix of activation kinds in one call.
const cases: Array<[string, Array<[GgmlTypeId, number]>]> = [
  ['Q/K/V Q4_K, Q4_K, Q6_K', [[GgmlType.Q4_K, 64], [GgmlType.Q4_K, 16], [GgmlType.Q6_K, 16]]],
  ['gate/up Q4_0, Q8_0', [[GgmlType.Q4_0, 96], [GgmlType.Q8_0, 96]]],
  ['mixed activations Q8_0, Q4_K, F16, Q4_1', [[GgmlType.Q8_0, 33], [GgmlType.Q4_K, 7], [GgmlType.F16, 20], [GgmlType.Q4_1, 9]]],
];

describe.each([1, 2])('multiplyShared, %i thread(s)', (threads) => {
  it.each(cases)('%s equals separate calls exactly (n = 1 and n = 5)', (_name, specs) => {
    const backend = backends.get(threads)!;
    const cols = 512;
    const weights = specs.map(([type, rows], i) => backend.prepare(referenceTensor(type, rows, cols, 100 + i)));
    for (const n of [1, 5]) {
      const x = randomFloats(n * cols, n + 7).map((v, i) => v * (1 + (i % 5)));
      const expected = separately(weights, x, n);
      const actual = shared(weights, x, n);
      for (const [t, out] of actual.entries()) expect(out, `tensor ${t}, n = ${n}`).toEqual(expected[t]);
    }
  });
});

describe('multiplyShared grouping', () => {
  it('runs the tensors of one backend in a single thread-pool dispatch', () => {
    const backend = backends.get(2)! as WasmBackend;
    const pool = (backend as unknown as { settings: { pool: { run: (...args: unknown[]) => void } } }).settings.pool;
    const weights = [GgmlType.Q4_K, GgmlType.Q4_K, GgmlType.Q6_K].map((type, i) => backend.prepare(referenceTensor(type, 32, 256, i + 1)));
    const run = vi.spyOn(pool, 'run');
    try {
      shared(weights, randomFloats(256, 1), 1);
      expect(run).toHaveBeenCalledTimes(1);
      expect((run.mock.calls[0]![0] as unknown[]).length).toBe(3);
    } finally {
      run.mockRestore();
    }
  });

  it('falls back to per-tensor calls for reference tensors and tensors of other backends, with the same results', () => {
    const cols = 256;
    const reference = referenceTensor(GgmlType.Q4_0, 12, cols, 5);
    const weights = [backends.get(1)!.prepare(referenceTensor(GgmlType.Q8_0, 10, cols, 6)), reference, backends.get(2)!.prepare(referenceTensor(GgmlType.Q4_K, 8, cols, 7))];
    for (const n of [1, 3]) {
      const x = randomFloats(n * cols, 11);
      const expected = separately(weights, x, n);
      const actual = shared(weights, x, n);
      for (const [t, out] of actual.entries()) expect(out, `tensor ${t}`).toEqual(expected[t]);
    }
  });

  it('splits a group that does not fit the scratch arena into separate calls, with the same results', async () => {
    const backend = await createBackend({ threads: 2, arenaBytes: 1 << 20, minParallelWork: 0, warmUpRounds: 0 });
    try {
      // Three 100000-row outputs (390 KiB each per activation row) cannot share a 1 MiB arena.
      const rows = 100_000;
      const weights = [0, 1, 2].map((i) => {
        const bytes = randomFloats(rows * 34, i + 20).map((v) => Math.floor((v + 1) * 128) & 0x3b);
        return backend.prepare(createWeightTensor(GgmlType.Q8_0, new Uint8Array(bytes), [32, rows]));
      }) as WasmWeightTensor[];
      expect((backend as WasmBackend).canGroup(weights)).toBe(false);
      expect((backend as WasmBackend).canGroup(weights.slice(0, 2))).toBe(true);
      const x = randomFloats(2 * 32, 3);
      const expected = separately(weights, x, 2);
      const actual = shared(weights, x, 2);
      for (const [t, out] of actual.entries()) expect(out, `tensor ${t}`).toEqual(expected[t]);
    } finally {
      await backend.dispose();
    }
  });

  it('rejects mismatched arguments with BAD_ARGUMENT naming the field; n = 0 and no tensors are no-ops', () => {
    const backend = backends.get(1)!;
    const a = backend.prepare(referenceTensor(GgmlType.Q8_0, 4, 64, 1));
    const b = backend.prepare(referenceTensor(GgmlType.Q8_0, 4, 32, 2));
    const expectCode = (run: () => void, field: string): void => {
      const error = (() => {
        try {
          run();
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(KernelError);
      expect((error as KernelError).code).toBe('BAD_ARGUMENT');
      expect((error as KernelError).field).toBe(field);
    };
    expectCode(() => multiplyShared([a], new Float32Array(64), 1, []), 'outs');
    expectCode(() => multiplyShared([a, b], new Float32Array(64), 1, [new Float32Array(4), new Float32Array(4)]), 'weights');
    expectCode(() => multiplyShared([a], new Float32Array(63), 1, [new Float32Array(4)]), 'x');
    expectCode(() => multiplyShared([a], new Float32Array(128), 2, [new Float32Array(7)]), 'outs');
    expectCode(() => multiplyShared([a], new Float32Array(128), -1, [new Float32Array(8)]), 'n');
    const y = new Float32Array(4).fill(3);
    multiplyShared([a], new Float32Array(0), 0, [y]);
    multiplyShared([], new Float32Array(0), 1, []);
    expect([...y]).toEqual([3, 3, 3, 3]);
  });
});
