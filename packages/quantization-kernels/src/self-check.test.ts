import { GgmlType } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import { createBackend, createBackendWith } from './create-backend.js';
import { KERNEL_FORMATS } from './kernel-formats.js';
import { differingKernels, probeInstance, runProbes, verifyRelaxedBuild, type KernelInstance } from './self-check.js';
import { expectSameProduct, randomFloats, referenceTensor } from './testing/compare.js';
import { RELAXED_SIMD_WASM_BASE64, SIMD128_WASM_BASE64 } from './generated/kernels-wasm.js';
import { relaxedSimdAvailable } from './wasm-module.js';

const compile = (base64: string): Promise<WebAssembly.Module> => WebAssembly.compile(new Uint8Array(Buffer.from(base64, 'base64')));

describe('relaxed-SIMD start-up self-check', () => {
  it('the engine runs relaxed SIMD (Node 20: the flag is set at run time)', () => {
    expect(relaxedSimdAvailable()).toBe(true);
  });

  it('finds no difference between the real relaxed and SIMD128 builds, and probes every kernel', async () => {
    expect(relaxedSimdAvailable()).toBe(true);
    const [relaxed, strict] = await Promise.all([compile(RELAXED_SIMD_WASM_BASE64), compile(SIMD128_WASM_BASE64)]);
    const outputs = runProbes(probeInstance(relaxed));
    expect(outputs.size).toBe(2 * KERNEL_FORMATS.length);
    for (const [name, y] of outputs) expect(y.every(Number.isFinite), name).toBe(true);
    expect(verifyRelaxedBuild(relaxed, strict)).toEqual([]);
  });

  it('names a kernel whose outputs are off', async () => {
    const strict = await compile(SIMD128_WASM_BASE64);
    const good = probeInstance(strict);
    // The same kernels, except that mm_q4_k adds 1% to its first output: what a miscompiled
    // instruction would look like.
    const broken: KernelInstance = {
      memory: good.memory,
      exports: {
        ...good.exports,
        mm_q4_k: (...args: number[]) => {
          (good.exports.mm_q4_k as (...a: number[]) => void)(...args);
          const y = new Float32Array(good.memory.buffer, args[7]!, 1);
          y[0] = y[0]! * 1.01 + 1e-3;
        },
      },
    };
    expect(differingKernels(runProbes(broken), runProbes(probeInstance(strict)))).toEqual(['mm_q4_k']);
  });
});

describe('choosing the build', () => {
  it('uses relaxed SIMD by default', async () => {
    const backend = await createBackend({ threads: 1, warmUpRounds: 0 });
    expect(backend.name).toBe('wasm-relaxed-simd');
    await backend.dispose();
  });

  it('relaxedSimd: false gives SIMD128', async () => {
    const backend = await createBackend({ threads: 1, warmUpRounds: 0, relaxedSimd: false });
    expect(backend.name).toBe('wasm-simd128');
    await backend.dispose();
  });

  it('falls back to SIMD128 with a warning when the self-check fails, and still computes right', async () => {
    const warnings: string[] = [];
    const backend = await createBackendWith({ threads: 2, warmUpRounds: 0, minParallelWork: 0, logger: { warn: (m) => warnings.push(m) } }, () => ['mv_q4_0']);
    try {
      expect(backend.name).toBe('wasm-simd128');
      expect(warnings.some((m) => m.includes('relaxed-SIMD build disagrees') && m.includes('mv_q4_0'))).toBe(true);
      const reference = referenceTensor(GgmlType.Q4_0, 9, 64, 3);
      const x = randomFloats(64, 4);
      const expected = new Float32Array(9);
      const actual = new Float32Array(9);
      reference.matVec(x, expected);
      backend.prepare(reference).matVec(x, actual);
      expectSameProduct(reference.toFloat32(), 64, x, 1, expected, actual);
    } finally {
      await backend.dispose();
    }
  });
});
