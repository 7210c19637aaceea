/**
 * A browser page without cross-origin isolation has no SharedArrayBuffer: the kernels must still run, as
 * WebAssembly over an ordinary memory on one thread, not fall back to the TypeScript reference.
 */
import { GgmlType } from '@smallmind/quantization-tensors';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBackend } from './create-backend.js';
import { RELAXED_SIMD_WASM_BASE64, SIMD128_WASM_BASE64 } from './generated/kernels-wasm.js';
import { expectSameProduct, randomFloats, referenceTensor } from './testing/compare.js';
import { WasmBackend } from './wasm-backend.js';
import { compileKernels, sharedMemoryAvailable, unshareMemoryImport } from './wasm-module.js';

const bytes = (base64: string): Uint8Array => new Uint8Array(Buffer.from(base64, 'base64'));

/** The limits flag byte of the module's one imported memory (found by its name, as the import section lays it out). */
function memoryLimitsFlag(binary: Uint8Array): number {
  const name = new TextEncoder().encode('memory');
  for (let i = 0; i + name.length + 1 < binary.length; i++) {
    if (binary[i - 1] === name.length && name.every((b, j) => binary[i + j] === b) && binary[i + name.length] === 0x02) return binary[i + name.length + 1]!;
  }
  throw new Error('no memory import found');
}

describe('kernels without shared memory', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('unshareMemoryImport clears only the shared bit of the memory import', () => {
    for (const base64 of [SIMD128_WASM_BASE64, RELAXED_SIMD_WASM_BASE64]) {
      const original = bytes(base64);
      const patched = unshareMemoryImport(original);
      expect(memoryLimitsFlag(original)).toBe(0x03);
      expect(memoryLimitsFlag(patched)).toBe(0x01);
      expect(patched.length).toBe(original.length);
      expect(patched.filter((b, i) => b !== original[i]).length).toBe(1);
    }
    expect(WebAssembly.validate(unshareMemoryImport(bytes(SIMD128_WASM_BASE64)))).toBe(true);
  });

  it('with no SharedArrayBuffer, createBackend runs the WebAssembly kernels on one thread, with the same products', async () => {
    expect(sharedMemoryAvailable()).toBe(true);
    vi.stubGlobal('SharedArrayBuffer', undefined);
    expect(sharedMemoryAvailable()).toBe(false);
    expect((await compileKernels(false))?.sharedMemory).toBe(false);
    const warnings: string[] = [];
    const backend = await createBackend({ threads: 4, warmUpRounds: 1, logger: { warn: (m) => warnings.push(m) } });
    try {
      expect(backend).toBeInstanceOf(WasmBackend);
      expect(backend.threads).toBe(1);
      expect(warnings.some((w) => w.includes('cross-origin isolation'))).toBe(true);
      // Several tensors, so the memory grows (an ordinary memory's buffer is replaced when it grows).
      for (const [i, type] of [GgmlType.Q4_K, GgmlType.Q8_0, GgmlType.F16, GgmlType.Q6_K].entries()) {
        const reference = referenceTensor(type, 256, 1024, i + 7);
        const fast = backend.prepare(reference);
        const x = randomFloats(1024 * 3, i);
        const want = new Float32Array(256 * 3);
        const got = new Float32Array(256 * 3);
        reference.matMul(x, 3, want);
        fast.matMul(x, 3, got);
        expectSameProduct(reference.toFloat32(), 1024, x, 3, want, got);
        expect(fast.data).toEqual(reference.data);
      }
    } finally {
      await backend.dispose();
    }
  });

  it("with no SharedArrayBuffer, the backend's KV store runs attention over an ordinary memory that grows", async () => {
    vi.stubGlobal('SharedArrayBuffer', undefined);
    const backend = await createBackend({ threads: 1, warmUpRounds: 1, logger: { warn: () => {} } });
    try {
      const shape = { headCount: 4, headCountKv: 1, headDim: 32, maxPositions: 4096 };
      const rowStride = 2 * shape.headDim;
      const store = backend.createKvStore?.({ ...shape, maxFloats: shape.maxPositions * rowStride });
      expect(store).toBeDefined();
      // A single key: attention returns its value row for every head, whatever the scores.
      store!.reserve(rowStride);
      const row = randomFloats(rowStride, 3);
      store!.data().set(row);
      store!.query().set(randomFloats(shape.headCount * shape.headDim, 4));
      store!.attend(0, shape.headDim, rowStride, 0, 1, 0.125, undefined);
      const value = row.subarray(shape.headDim);
      for (let h = 0; h < shape.headCount; h++) expect(store!.output().subarray(h * shape.headDim, (h + 1) * shape.headDim)).toEqual(value);
      // Growing replaces an ordinary memory's buffer: the views must follow it.
      store!.reserve(shape.maxPositions * rowStride);
      store!.data().set(row, (shape.maxPositions - 1) * rowStride);
      store!.attend(0, shape.headDim, rowStride, shape.maxPositions - 1, shape.maxPositions, 0.125, undefined);
      expect(store!.output().subarray(0, shape.headDim)).toEqual(value);
    } finally {
      await backend.dispose();
    }
  });
});
