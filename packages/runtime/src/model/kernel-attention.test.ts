import { createBackend, type KernelBackend } from '@smallmind/quantization-kernels';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model } from './model.js';
import { boundF32Tensors, randomModelMetadata, randomModelTensors, u32, type RandomModelShape } from '../testing/random-model.js';

// A session whose F32 KV cache lives in a kernel store (attention in WebAssembly) against the same
// model with the cache in JS arrays (attention and SwiGLU in TypeScript): the kernels sum in float32
// lanes with a float32 exponential, so logits agree to about 1e-5 of their scale.

const shape: RandomModelShape = { vocabSize: 48, embeddingLength: 64, feedForwardLength: 40, headCount: 8, headCountKv: 2, blockCount: 2, contextLength: 96 };
let backend: KernelBackend;
beforeAll(async () => {
  backend = await createBackend({ threads: 1, warmUpRounds: 0 });
});
afterAll(async () => backend.dispose());

function models(architecture: string, keys: Record<string, ReturnType<typeof u32>> = {}): { kernel: Model; ts: Model } {
  const metadata = randomModelMetadata(architecture, shape, { keys });
  const tensors = boundF32Tensors(randomModelTensors(metadata, 3));
  return { kernel: Model.create({ metadata, tensors, kernels: backend }), ts: Model.create({ metadata, tensors }) };
}

function expectClose(actual: Float32Array, expected: Float32Array, where: string): void {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  expect(worst, where).toBeLessThanOrEqual(1e-5 * scale);
}

const prompt = Array.from({ length: 70 }, (_, i) => (i * 13 + 5) % shape.vocabSize);

describe('attention over a KV cache in kernel memory', () => {
  it.each([
    ['llama', {}],
    ['gemma2', { 'attention.sliding_window': u32(6) }],
  ] as const)('%s: prefill, decode past the first growth, truncate and clone match the TypeScript cache', (architecture, keys) => {
    const { kernel, ts } = models(architecture, keys);
    const a = kernel.createSession({ contextSize: 96 });
    const b = ts.createSession({ contextSize: 96 });
    expectClose(a.evaluate(prompt.slice(0, 40), { allLogits: true }), b.evaluate(prompt.slice(0, 40), { allLogits: true }), 'prefill');
    // 40 -> 70 positions crosses the 64-row first reservation, so the store grows under cached rows.
    for (let i = 40; i < 70; i++) expectClose(a.evaluate([prompt[i]!]), b.evaluate([prompt[i]!]), `decode ${i}`);
    expect(a.memory).toEqual(b.memory);
    a.truncate(30);
    b.truncate(30);
    expectClose(a.evaluate([7, 8]), b.evaluate([7, 8]), 'after truncate');
    const c = a.clone();
    const d = b.clone();
    expectClose(c.evaluate([9]), d.evaluate([9]), 'clone');
    expectClose(a.evaluate([9]), b.evaluate([9]), 'original after clone');
  });

  it('an F16 cache keeps the TypeScript path and still matches', () => {
    const { kernel } = models('llama');
    // The same SwiGLU kernel but no KV store: equal logits show the F16 cache attends in TypeScript.
    const ts = Model.create({ metadata: kernel.metadata, tensors: boundF32Tensors(randomModelTensors(kernel.metadata, 3)), kernels: { swiglu: backend.swiglu!.bind(backend) } });
    const a = kernel.createSession({ contextSize: 96, kvType: 'f16' });
    const b = ts.createSession({ contextSize: 96, kvType: 'f16' });
    expect(a.evaluate(prompt.slice(0, 20))).toEqual(b.evaluate(prompt.slice(0, 20)));
  });
});
