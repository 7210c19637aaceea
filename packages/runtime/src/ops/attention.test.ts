import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../model/config.js';
import { configOf, randomLlamaTensors, tinyLlamaMetadata, tinySession, type RawTensor } from '../tiny-llama.fixture.js';

// Attention runs at most four query heads per pass, so KV groups of 5..8 heads take two passes and
// a group of 3 leaves a short pass; each must still see its own query and KV head.
const prompt = [3, 17, 5, 40, 22, 9, 31, 1, 12, 44, 7, 2];

function logits(config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>): Float32Array {
  return tinySession(config, tensors, {}, config.layers[0]!.rope!.dimensionCount).evaluate(prompt).slice();
}

/** K/V projections with KV head `kvHeadOf(h)` copied out for every query head h (a multi-head model). */
function perQueryHeadKv(config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>, kvHeadOf: (h: number) => number): Map<string, RawTensor> {
  const headBlock = config.headDim * config.embeddingLength;
  const result = new Map(tensors);
  for (const name of [...tensors.keys()].filter((key) => key.endsWith('attn_k.weight') || key.endsWith('attn_v.weight'))) {
    const source = tensors.get(name)!.values;
    const repeated = new Float32Array(config.headCount * headBlock);
    for (let h = 0; h < config.headCount; h++) repeated.set(source.subarray(kvHeadOf(h) * headBlock, (kvHeadOf(h) + 1) * headBlock), h * headBlock);
    result.set(name, { shape: [config.embeddingLength, config.headCount * config.headDim], values: repeated });
  }
  return result;
}

describe('attention in passes of up to four query heads', () => {
  for (const [headCount, headCountKv, headDim] of [[8, 1, 8], [6, 1, 8], [8, 2, 8], [6, 2, 8], [5, 1, 8], [4, 2, 7]] as const) {
    it(`${headCount} query heads of width ${headDim} on ${headCountKv} KV head(s) equal the multi-head model`, () => {
      const shape = { vocabSize: 48, embeddingLength: headCount * headDim, feedForwardLength: 40, blockCount: 2, contextLength: 32 };
      // RoPE turns pairs: an odd head width rotates all but its last dimension.
      const ropeDimensionCount = headDim & ~1;
      const gqaConfig = configOf(tinyLlamaMetadata({ ...shape, headCount, headCountKv }, ropeDimensionCount));
      const mhaConfig = configOf(tinyLlamaMetadata({ ...shape, headCount, headCountKv: headCount }, ropeDimensionCount));
      const tensors = randomLlamaTensors(gqaConfig, 23, true, ropeDimensionCount);
      const group = headCount / headCountKv;
      const gqa = logits(gqaConfig, tensors);
      const mha = logits(mhaConfig, perQueryHeadKv(mhaConfig, tensors, (h) => Math.floor(h / group)));
      let maxDiff = 0;
      for (let i = 0; i < gqa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(gqa[i]! - mha[i]!));
      expect(maxDiff).toBeLessThan(1e-5);
      // Guard: a model that reads the wrong KV head for the second half of the heads differs.
      if (headCountKv > 1) {
        const shifted = logits(mhaConfig, perQueryHeadKv(mhaConfig, tensors, (h) => (Math.floor(h / group) + (h % group >= group / 2 ? 1 : 0)) % headCountKv));
        let shiftedDiff = 0;
        for (let i = 0; i < gqa.length; i++) shiftedDiff = Math.max(shiftedDiff, Math.abs(gqa[i]! - shifted[i]!));
        expect(shiftedDiff).toBeGreaterThan(1e-3);
      }
    });
  }
});
