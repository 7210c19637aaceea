import { describe, expect, it } from 'vitest';
import { createBackend } from './create-backend.js';
import { KernelError } from './errors.js';
import { randomFloats } from './testing/compare.js';
import { WasmKvStore } from './wasm-backend.js';
import { compileKernels } from './wasm-module.js';

// attend_f32 against attention computed here in doubles (no float32 rounding anywhere): the kernel
// rounds scores, exponentials and weights to float32 as ggml does, so they agree to ~1e-6 of the
// value scale, and a wrong head mapping, window, scale or cap is off by far more.

const shape = { headCount: 8, headCountKv: 2, headDim: 64, maxPositions: 96 };
const kvWidth = shape.headCountKv * shape.headDim;
const width = shape.headCount * shape.headDim;
/** Two layers interleaved position-major, as the runtime lays its cache out. */
const layers = 2;
const rowStride = 2 * layers * kvWidth;

function exactAttention(q: Float32Array, data: Float32Array, keyOffset: number, valueOffset: number, first: number, end: number, scale: number, softcap: number | undefined): Float64Array {
  const out = new Float64Array(width);
  const group = shape.headCount / shape.headCountKv;
  for (let h = 0; h < shape.headCount; h++) {
    const g = Math.floor(h / group);
    const scores: number[] = [];
    for (let t = first; t < end; t++) {
      let dot = 0;
      for (let d = 0; d < shape.headDim; d++) dot += q[h * shape.headDim + d]! * data[keyOffset + t * rowStride + g * shape.headDim + d]!;
      const s = dot * scale;
      scores.push(softcap === undefined ? s : softcap * Math.tanh(s / softcap));
    }
    const max = Math.max(...scores);
    const weights = scores.map((s) => Math.exp(s - max));
    const sum = weights.reduce((a, b) => a + b, 0);
    for (let t = first; t < end; t++) {
      for (let d = 0; d < shape.headDim; d++) {
        const i = h * shape.headDim + d;
        out[i] = out[i]! + (weights[t - first]! / sum) * data[valueOffset + t * rowStride + g * shape.headDim + d]!;
      }
    }
  }
  return out;
}

function maxDiff(a: Float32Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

async function storeFor(relaxed: boolean): Promise<WasmKvStore> {
  const compiled = await compileKernels(relaxed);
  if (compiled === undefined) throw new Error('no WebAssembly SIMD');
  return new WasmKvStore(compiled.module, { ...shape, maxFloats: shape.maxPositions * rowStride });
}

/** Fills `positions` rows of both layers and a query; scores of a few units so the softmax is not flat. */
function fill(store: WasmKvStore, positions: number, seed: number): Float32Array {
  store.reserve(positions * rowStride);
  store.data().set(randomFloats(positions * rowStride, seed).map((v) => v * 3));
  const q = randomFloats(width, seed + 1).map((v) => v * 2);
  store.query().set(q);
  return q;
}

describe('attend_f32', () => {
  it.each([false, true])('matches exact attention (relaxed build: %s): GQA heads, windows, layers, scale and soft-cap', async (relaxed) => {
    const store = await storeFor(relaxed);
    const q = fill(store, 80, 5);
    const cases = [
      { layer: 0, first: 0, end: 80, scale: 0.125, softcap: undefined },
      { layer: 1, first: 0, end: 80, scale: 0.125, softcap: undefined },
      { layer: 1, first: 17, end: 41, scale: 0.3, softcap: undefined },
      { layer: 0, first: 0, end: 1, scale: 0.125, softcap: undefined },
      { layer: 0, first: 3, end: 80, scale: 0.5, softcap: 2 },
    ];
    for (const c of cases) {
      const keyOffset = c.layer * 2 * kvWidth;
      store.attend(keyOffset, keyOffset + kvWidth, rowStride, c.first, c.end, c.scale, c.softcap);
      const expected = exactAttention(q, store.data(), keyOffset, keyOffset + kvWidth, c.first, c.end, c.scale, c.softcap);
      expect(maxDiff(store.output(), expected), JSON.stringify(c)).toBeLessThan(2e-6);
    }
  });

  it('computes the same bits in the SIMD128 and relaxed builds', async () => {
    const [strict, relaxed] = [await storeFor(false), await storeFor(true)];
    fill(strict, 64, 9);
    fill(relaxed, 64, 9);
    strict.attend(0, kvWidth, rowStride, 0, 64, 0.125, 30);
    relaxed.attend(0, kvWidth, rowStride, 0, 64, 0.125, 30);
    expect([...relaxed.output()]).toEqual([...strict.output()]);
  });

  it('keeps rows written before the store grows', async () => {
    const store = await storeFor(false);
    fill(store, 4, 11);
    const before = store.data().slice();
    store.reserve(shape.maxPositions * rowStride);
    expect(store.data().length).toBe(shape.maxPositions * rowStride);
    expect([...store.data().subarray(0, before.length)]).toEqual([...before]);
  });

  it('rejects rows outside the reserved floats and bad shapes with typed errors', async () => {
    const store = await storeFor(false);
    fill(store, 8, 13);
    const codeOf = (f: () => void): string | undefined => {
      try {
        f();
      } catch (error) {
        return error instanceof KernelError ? error.code : 'untyped';
      }
      return undefined;
    };
    expect(codeOf(() => store.attend(0, kvWidth, rowStride, 0, 9, 0.125, undefined))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => store.attend(0, kvWidth, rowStride, 5, 5, 0.125, undefined))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => store.attend(-1, kvWidth, rowStride, 0, 4, 0.125, undefined))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => store.reserve(shape.maxPositions * rowStride + 1))).toBe('BAD_ARGUMENT');
    const backend = await createBackend({ threads: 1, warmUpRounds: 0 });
    expect(codeOf(() => backend.createKvStore?.({ ...shape, headCountKv: 3, maxFloats: 10 }))).toBe('BAD_ARGUMENT');
    expect(codeOf(() => backend.createKvStore?.({ ...shape, maxFloats: 2 ** 31 }))).toBeUndefined();
    expect(backend.createKvStore?.({ ...shape, maxFloats: 2 ** 31 })).toBeUndefined(); // 8 GiB: not one wasm32 memory
    await backend.dispose();
  });
});
