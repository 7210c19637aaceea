/**
 * gemma3 (Gemma 3 text). Deviations from llama: input embeddings times sqrt(n_embd); NeoX RoPE; per-head
 * Q/K RMSNorm before RoPE; attention scale 1/sqrt(key_length) (27B: 1/sqrt(n_embd/n_head)); RMSNorm of the
 * attention output and of the FFN output before each residual add (`post_attention_norm`, `post_ffw_norm`);
 * GeGLU FFN (gelu(gate) * up, exact tanh GELU); sliding-window attention on local layers (with
 * `attention.sliding_window` set: period `attention.sliding_window_pattern`, default 6, i.e. five local then
 * one global) with their own RoPE base `rope.freq_base_swa` (default 10000); optional final logit
 * soft-capping; tied output. Norm weights are used as stored (the GGUF converter already added Gemma's +1).
 */
import { readBaseConfig, slidingWindowLayers, type LayerConfig, type ModelConfig } from '../model/config.js';
import { matrix, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { feedForward, qkvTensors, requireQkv, selfAttention, shape } from './blocks.js';

/** Gemma's attention scale: 1/sqrt(head width), but 1/sqrt(n_embd / n_head) for the 27B shape. */
export function gemmaAttentionScale(config: ModelConfig, largeShapeLayers: number): number {
  return config.blockCount === largeShapeLayers ? 1 / Math.sqrt(config.embeddingLength / config.headCount) : 1 / Math.sqrt(config.headDim);
}

export const gemma3 = defineArchitecture({
  name: 'gemma3',
  readConfig: (keys) => {
    const base = readBaseConfig(keys, { rope: 'neox', norm: 'rms' });
    const window = keys.nonNegativeInteger('attention.sliding_window', 0);
    let layers: readonly LayerConfig[] = base.layers;
    const globalLayer = base.layers[0]!;
    if (window > 0 && globalLayer.rope !== undefined) {
      const local = slidingWindowLayers(base.blockCount, keys.nonNegativeInteger('attention.sliding_window_pattern', 6));
      const localLayer: LayerConfig = { rope: { ...globalLayer.rope, freqBase: keys.positiveNumber('rope.freq_base_swa', 10000), freqScale: 1 }, slidingWindow: window };
      layers = local.map((isLocal) => (isLocal ? localLayer : globalLayer));
    }
    const softcap = keys.optionalPositiveNumber('final_logit_softcapping');
    return {
      ...base,
      layers,
      attentionScale: gemmaAttentionScale(base, 62),
      embeddingScale: Math.sqrt(base.embeddingLength),
      ...(softcap === undefined ? {} : { finalLogitSoftcap: softcap }),
    };
  },
  tensors: {
    global: {
      tokenEmbd: matrix('token_embd.weight', shape.tokenEmbd),
      outputNorm: vector('output_norm.weight', shape.embd),
    },
    layer: {
      attnNorm: vector('attn_norm.weight', shape.embd),
      ...qkvTensors,
      qNorm: vector('attn_q_norm.weight', shape.head),
      kNorm: vector('attn_k_norm.weight', shape.head),
      output: matrix('attn_output.weight', shape.attnOut),
      attnPostNorm: vector('post_attention_norm.weight', shape.embd),
      ffnNorm: vector('ffn_norm.weight', shape.embd),
      gate: matrix('ffn_gate.weight', shape.ffnIn),
      up: matrix('ffn_up.weight', shape.ffnIn),
      down: matrix('ffn_down.weight', shape.ffnOut),
      ffnPostNorm: vector('post_ffw_norm.weight', shape.embd),
    },
  },
  forward(f, w, c) {
    const x = f.embed(w.tokenEmbd, c.embeddingScale);
    for (let il = 0; il < c.blockCount; il++) {
      const L = w.layers[il]!;
      f.beginLayer(il);
      f.add(x, f.rmsNorm(selfAttention(f, f.rmsNorm(x, L.attnNorm), L, c), L.attnPostNorm));
      f.add(x, f.rmsNorm(feedForward(f, f.rmsNorm(x, L.ffnNorm), L, 'gated-gelu'), L.ffnPostNorm));
    }
    const logits = f.logits(w.tokenEmbd, f.rmsNorm(f.outputRows(x), w.outputNorm));
    return c.finalLogitSoftcap === undefined ? logits : f.softcap(logits, c.finalLogitSoftcap);
  },
  validate: (w) => requireQkv(w.layers),
});
