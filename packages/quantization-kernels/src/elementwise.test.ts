import { afterAll, describe, expect, it } from 'vitest';
import type { KernelBackend } from './backend.js';
import { createBackend } from './create-backend.js';
import { KernelError } from './errors.js';
import { randomFloats } from './testing/compare.js';

// backend.swiglu against silu(g) * up computed here in doubles: the kernel's float32 exponential is
// within 2 ulp and each step rounds to float32, so results agree to a few float32 ulps, while a wrong
// sign, a missing factor or a skipped tail element is off by far more.

const backends: KernelBackend[] = [];
afterAll(async () => Promise.all(backends.map((b) => b.dispose())));

async function backendFor(relaxedSimd: boolean, arenaBytes?: number): Promise<KernelBackend> {
  const backend = await createBackend({ threads: 1, warmUpRounds: 0, relaxedSimd, ...(arenaBytes === undefined ? {} : { arenaBytes }) });
  backends.push(backend);
  return backend;
}

/** Gates across silu's whole range (deep negative, around 0, large positive, exact zeros) and ups. */
function inputs(count: number, seed: number): { gate: Float32Array; up: Float32Array } {
  const gate = randomFloats(count, seed).map((v, i) => (i % 7 === 0 ? v * 120 : i % 11 === 0 ? 0 : v * 8));
  const up = randomFloats(count, seed + 1).map((v) => v * 3);
  return { gate, up };
}

function worstUlps(actual: Float32Array, gate: Float32Array, up: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    const expected = (g / (1 + Math.exp(-g))) * up[i]!;
    // Relative to float32 spacing at the value (tiny values: an absolute floor).
    const ulp = Math.max(Math.abs(expected) * 2 ** -23, 1e-30);
    worst = Math.max(worst, Math.abs(actual[i]! - expected) / ulp);
  }
  return worst;
}

describe('swiglu', () => {
  it.each([false, true])('matches silu(gate) * up within 4 float32 ulps (relaxed build: %s), tail elements included', async (relaxed) => {
    const backend = await backendFor(relaxed);
    for (const count of [1, 3, 4, 5632 + 3]) {
      const { gate, up } = inputs(count, count);
      const out = gate.slice();
      backend.swiglu!(out, up, count);
      expect(worstUlps(out, gate, up), `count ${count}`).toBeLessThanOrEqual(4);
    }
  });

  it('computes the same bits in the SIMD128 and relaxed builds, and in chunks when the arena is small', async () => {
    const [strict, relaxed, small] = [await backendFor(false), await backendFor(true), await backendFor(true, 1 << 20)];
    // 300k values: more than one chunk of the 1 MiB arena (131072 floats per array).
    const { gate, up } = inputs(300_000, 5);
    const [a, b, c] = [gate.slice(), gate.slice(), gate.slice()];
    strict.swiglu!(a, up, a.length);
    relaxed.swiglu!(b, up, b.length);
    small.swiglu!(c, up, c.length);
    expect(b).toEqual(a);
    expect(c).toEqual(b);
  });

  it('leaves values past count alone and rejects bad counts and short arrays with typed errors', async () => {
    const backend = await backendFor(true);
    const { gate, up } = inputs(8, 3);
    const out = gate.slice();
    backend.swiglu!(out, up, 5);
    expect([...out.subarray(5)]).toEqual([...gate.subarray(5)]);
    const codeOf = (f: () => void): string | undefined => {
      try {
        f();
      } catch (error) {
        return error instanceof KernelError ? `${error.code}:${String(error.field)}` : 'untyped';
      }
      return undefined;
    };
    expect(codeOf(() => backend.swiglu!(out, up, 9))).toBe('BAD_ARGUMENT:gate');
    expect(codeOf(() => backend.swiglu!(out, up.subarray(0, 4), 5))).toBe('BAD_ARGUMENT:up');
    expect(codeOf(() => backend.swiglu!(out, up, -1))).toBe('BAD_ARGUMENT:count');
    expect(codeOf(() => backend.swiglu!(out, up, 1.5))).toBe('BAD_ARGUMENT:count');
  });
});
