/**
 * gemma2 (Gemma 2). Deviations from llama: input embeddings times sqrt(n_embd); NeoX RoPE; attention
 * scores soft-capped (`attn_logit_softcapping`, default 50) and final logits soft-capped
 * (`final_logit_softcapping`, default 30); attention scale 1/sqrt(key_length) (27B: 1/sqrt(n_embd/n_head));
 * post-attention and post-FFN RMSNorms before the residual adds; GeGLU FFN; sliding-window attention on
 * every other layer (period `attention.sliding_window_pattern`, default 2, so even layers are local; window
 * `attention.sliding_window`, default 4096); tied output. No Q/K norm (that is Gemma 3).
 */
import { readBaseConfig, slidingWindowLayers, type LayerConfig } from '../model/config.js';
import { matrix, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { feedForward, qkvTensors, requireQkv, selfAttention, shape } from './blocks.js';
import { gemmaAttentionScale } from './gemma3.js';

export const gemma2 = defineArchitecture({
  name: 'gemma2',
  readConfig: (keys) => {
    const base = readBaseConfig(keys, { rope: 'neox', norm: 'rms' });
    const globalLayer = base.layers[0]!;
    const window = keys.positiveInteger('attention.sliding_window', 4096);
    const localLayer: LayerConfig = {
      rope: globalLayer.rope === undefined ? undefined : { ...globalLayer.rope, freqBase: keys.positiveNumber('rope.freq_base_swa', globalLayer.rope.freqBase) },
      slidingWindow: window,
    };
    const local = slidingWindowLayers(base.blockCount, keys.nonNegativeInteger('attention.sliding_window_pattern', 2));
    return {
      ...base,
      layers: local.map((isLocal) => (isLocal ? localLayer : globalLayer)),
      attentionScale: gemmaAttentionScale(base, 46),
      attentionSoftcap: keys.positiveNumber('attn_logit_softcapping', 50),
      finalLogitSoftcap: keys.positiveNumber('final_logit_softcapping', 30),
      embeddingScale: Math.sqrt(base.embeddingLength),
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
    return f.softcap(f.logits(w.tokenEmbd, f.rmsNorm(f.outputRows(x), w.outputNorm)), c.finalLogitSoftcap ?? 30);
  },
  validate: (w) => requireQkv(w.layers),
});
