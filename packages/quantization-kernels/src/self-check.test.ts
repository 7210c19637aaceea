import { GgmlType } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import type { KernelBackend } from './backend.js';
import { createBackend, createBackendWith } from './create-backend.js';
import { KERNEL_FORMATS } from './kernel-formats.js';
import { differingKernels, probeInstance, runProbes, verifyRelaxedBuild, type KernelInstance } from './self-check.js';
import { expectSameProduct, randomFloats, referenceTensor } from './testing/compare.js';
import { RELAXED_SIMD_FUSED_DOT_WASM_BASE64, RELAXED_SIMD_WASM_BASE64, SIMD128_WASM_BASE64 } from './generated/kernels-wasm.js';
import { compileKernels, relaxedSimdAvailable } from './wasm-module.js';

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

  it('checks the fused dot-add build like the other: Node 20 computes the fused form wrong, and the check names the kernels that use it', async () => {
    const [fused, relaxed, strict] = await Promise.all([compile(RELAXED_SIMD_FUSED_DOT_WASM_BASE64), compile(RELAXED_SIMD_WASM_BASE64), compile(SIMD128_WASM_BASE64)]);
    const differing = verifyRelaxedBuild(fused, strict);
    if (process.versions.node.startsWith('20.')) {
      // The 32-block matVecs and matMuls (Q4_0 and Q8_0 among them) take the fused form; the K-quants do not.
      expect(differing).toEqual(expect.arrayContaining(['mv_q4_0', 'mm_q4_0', 'mm_q8_0']));
      expect(differing).not.toContain('mv_q4_k');
    } else {
      // Where the engine computes it right, both relaxed builds give the same integers, so the same outputs.
      expect(differing).toEqual([]);
      expect(runProbes(probeInstance(fused))).toEqual(runProbes(probeInstance(relaxed)));
    }
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

/** A Q4_0 matVec on `backend` equals the reference's (whichever build runs). */
function expectRightQ4_0MatVec(backend: KernelBackend): void {
  const reference = referenceTensor(GgmlType.Q4_0, 9, 64, 3);
  const x = randomFloats(64, 4);
  const expected = new Float32Array(9);
  const actual = new Float32Array(9);
  reference.matVec(x, expected);
  backend.prepare(reference).matVec(x, actual);
  expectSameProduct(reference.toFloat32(), 64, x, 1, expected, actual);
}

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

  it('runs the fused dot-add build only after it passes the self-check (no check: the relaxed build without it)', async () => {
    const infos: string[] = [];
    const accepted = await createBackendWith({ threads: 1, warmUpRounds: 0, logger: { info: (m) => infos.push(m) } }, () => []);
    expect(accepted.name).toBe('wasm-relaxed-simd');
    expect(infos.some((m) => m.includes('(fused dot-add)'))).toBe(true);
    await accepted.dispose();
    expect((await compileKernels(true))?.fusedDot).toBe(false);
    let calls = 0;
    const kernels = await compileKernels(true, () => (calls++ === 0 ? ['mm_q8_0'] : []));
    expect(kernels).toMatchObject({ variant: 'wasm-relaxed-simd', fusedDot: false, fusedDotRejected: ['mm_q8_0'] });
    expect(kernels?.relaxedRejected).toBeUndefined();
  });

  it('falls back to the relaxed build without the fused dot-add when only that one fails the check (a debug message), and computes right', async () => {
    const debug: string[] = [];
    const warnings: string[] = [];
    let calls = 0;
    const backend = await createBackendWith({ threads: 1, warmUpRounds: 0, logger: { debug: (m) => debug.push(m), warn: (m) => warnings.push(m) } }, () => (calls++ === 0 ? ['mv_q4_0'] : []));
    try {
      expect(backend.name).toBe('wasm-relaxed-simd');
      expect(debug.some((m) => m.includes('fused dot-add build disagrees') && m.includes('mv_q4_0'))).toBe(true);
      expect(warnings).toEqual([]);
      expectRightQ4_0MatVec(backend);
    } finally {
      await backend.dispose();
    }
  });

  it('falls back to SIMD128 with a warning when the self-check fails, and still computes right', async () => {
    const warnings: string[] = [];
    const backend = await createBackendWith({ threads: 2, warmUpRounds: 0, minParallelWork: 0, logger: { warn: (m) => warnings.push(m) } }, () => ['mv_q4_0']);
    // Both relaxed builds were rejected: the fused one first, then the other.
    try {
      expect(backend.name).toBe('wasm-simd128');
      expect(warnings.some((m) => m.includes('relaxed-SIMD build disagrees') && m.includes('mv_q4_0'))).toBe(true);
      expectRightQ4_0MatVec(backend);
    } finally {
      await backend.dispose();
    }
  });
});
