import { GgmlType, ggmlTypeInfo, type IWeightTensor } from '@smallmind/quantization-tensors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelBackend } from './backend.js';
import { createBackend } from './create-backend.js';
import { KERNEL_FORMATS } from './kernel-formats.js';
import { expectSameProduct, randomFloats, referenceTensor } from './testing/compare.js';

// Both builds are checked: relaxed SIMD is the default where the engine supports it, SIMD128 the
// fallback (relaxedSimd: false, or a failed start-up self-check).
const builds = [['wasm-relaxed-simd', true], ['wasm-simd128', false]] as const;
const backends = new Map<string, KernelBackend>();
const backendFor = (build: string, threads: number): KernelBackend => backends.get(`${build}/${threads}`)!;

beforeAll(async () => {
  for (const [name, relaxedSimd] of builds) {
    for (const threads of [1, 2]) {
      const backend = await createBackend({ threads, minParallelWork: 0, warmUpRounds: 1, relaxedSimd });
      expect(backend.name).toBe(name);
      backends.set(`${name}/${threads}`, backend);
    }
  }
});

afterAll(async () => {
  for (const backend of backends.values()) await backend.dispose();
});

function check(reference: IWeightTensor, fast: IWeightTensor, n: number, seed: number): void {
  const x = randomFloats(reference.cols * n, seed).map((v, i) => v * (1 + (i % 7)));
  const expected = new Float32Array(reference.rows * n);
  const actual = new Float32Array(reference.rows * n).fill(Number.NaN);
  reference.matMul(x, n, expected);
  if (n === 1) fast.matVec(x, actual);
  else fast.matMul(x, n, actual);
  expectSameProduct(reference.toFloat32(), reference.cols, x, n, expected, actual);
}

describe.each(builds.flatMap(([name]) => [[name, 1], [name, 2]] as const))('%s kernels vs the TS reference, %i thread(s)', (build, threads) => {
  describe.each(KERNEL_FORMATS.map((format) => [ggmlTypeInfo(format.type).name, format.type] as const))('%s', (_name, type) => {
    const block = ggmlTypeInfo(type).blockSize === 1 ? 20 : ggmlTypeInfo(type).blockSize;
    // Single row, odd row counts, rows not a multiple of the thread count, several blocks per row;
    // float formats also get a row length that is not a multiple of the SIMD width (20, 60).
    const shapes: Array<[rows: number, cols: number]> = [[1, block], [7, 3 * block], [33, 2 * block], [64, 8 * block]];
    it.each(shapes)('matVec, %i rows x %i cols', (rows, cols) => {
      const reference = referenceTensor(type, rows, cols, rows * 31 + cols);
      const fast = backendFor(build, threads).prepare(reference);
      expect(fast).not.toBe(reference);
      expect(fast.type).toBe(type);
      check(reference, fast, 1, rows + cols);
    });
    it.each(shapes)('matMul n=5, %i rows x %i cols', (rows, cols) => {
      const reference = referenceTensor(type, rows, cols, rows * 17 + cols);
      check(reference, backendFor(build, threads).prepare(reference), 5, cols);
    });
  });
});

describe('matMul', () => {
  it.each(builds)('equals n separate matVec calls (up to summation order) for every format (%s)', (build) => {
    const backend = backendFor(build, 2);
    for (const format of KERNEL_FORMATS) {
      const cols = ggmlTypeInfo(format.type).blockSize === 1 ? 100 : 2 * ggmlTypeInfo(format.type).blockSize;
      const rows = 9;
      const n = 4;
      const fast = backend.prepare(referenceTensor(format.type, rows, cols, 5));
      const x = randomFloats(cols * n, 77);
      const batched = new Float32Array(rows * n);
      fast.matMul(x, n, batched);
      const single = new Float32Array(rows * n);
      for (let i = 0; i < n; i++) {
        const y = new Float32Array(rows);
        fast.matVec(x.subarray(i * cols, (i + 1) * cols), y);
        single.set(y, i * rows);
      }
      expectSameProduct(fast.toFloat32(), cols, x, n, single, batched);
    }
  });

  it.each(builds)('processes batches larger than the scratch arena in chunks (%s)', async (_name, relaxedSimd) => {
    const backend = await createBackend({ threads: 2, arenaBytes: 1 << 20, minParallelWork: 0, warmUpRounds: 0, relaxedSimd });
    try {
      // A row of activations, its quantized form (plus the four-row tables for Q8_0/Q8_1) and 96
      // outputs take ~28 KiB: 61 rows need two chunks, the second not a multiple of four.
      for (const type of [GgmlType.Q4_K, GgmlType.Q4_0, GgmlType.Q4_1]) {
        const reference = referenceTensor(type, 96, 4096, 3);
        check(reference, backend.prepare(reference), 61, 9);
      }
    } finally {
      await backend.dispose();
    }
  });

  it.each(builds)('Q8_0 rows holding the weight -128 (no quantizer writes it, a file may) compute exactly (%s)', (build) => {
    const reference = referenceTensor(GgmlType.Q8_0, 6, 128, 11);
    // Q8_0 block: fp16 d | i8 q[32]; rows 1 and 4 get a -128 (0x80), the others stay in -127..127.
    const rowBytes = (128 / 32) * 34;
    reference.data[1 * rowBytes + 34 + 2 + 5] = 0x80;
    reference.data[4 * rowBytes + 3 * 34 + 2 + 31] = 0x80;
    for (const n of [1, 5, 8]) check(reference, backendFor(build, 2).prepare(reference), n, 40 + n);
  });

  it.each(builds)('4-bit rows at the largest level times the largest activations stay exact in the i16 block sums (%s)', (build) => {
    // Every nibble 15 and every activation quantized to +127 (or -127): each block's pair sums reach
    // 4 * 15 * 127 per lane, 30480 after the relaxed matMul's i16 transpose, just inside i16.
    for (const type of [GgmlType.Q4_0, GgmlType.Q4_1]) {
      const reference = referenceTensor(type, 6, 256, 21);
      const info = ggmlTypeInfo(type);
      const qsOffset = info.typeSize - 16;
      for (let b = 0; b < reference.data.length / info.typeSize; b++) reference.data.fill(0xff, b * info.typeSize + qsOffset, (b + 1) * info.typeSize);
      const fast = backendFor(build, 2).prepare(reference);
      const n = 5;
      const x = new Float32Array(256 * n).map((_, i) => (Math.floor(i / 256) % 2 === 0 ? 1 : -1));
      const expected = new Float32Array(6 * n);
      const actual = new Float32Array(6 * n).fill(Number.NaN);
      reference.matMul(x, n, expected);
      fast.matMul(x, n, actual);
      expectSameProduct(reference.toFloat32(), 256, x, n, expected, actual);
    }
  });

  it('n = 0 is a no-op', () => {
    const fast = backendFor('wasm-simd128', 1).prepare(referenceTensor(GgmlType.Q8_0, 4, 32, 1));
    const y = new Float32Array(4).fill(7);
    fast.matMul(new Float32Array(0), 0, y);
    expect([...y]).toEqual([7, 7, 7, 7]);
  });
});
