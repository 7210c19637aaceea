/**
 * gpt2 ("legacy GPT"). Deviations from llama: no RoPE — learned absolute positions (`position_embd`, one
 * row per position up to the context length) are added to the token embeddings; LayerNorm with bias
 * (epsilon from `attention.layer_norm_epsilon`) before attention, before the FFN and at the end; one fused
 * QKV projection with bias; biases on the attention output and both FFN matrices; a plain GELU FFN (up ->
 * GELU -> down, exact tanh GELU), no gate; MHA; untied `output.weight` (tied when absent).
 */
import { ModelConfigError } from '../errors.js';
import { readBaseConfig } from '../model/config.js';
import { matrix, optionalMatrix, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { feedForward, qkvTensors, requireQkv, selfAttention, shape } from './blocks.js';

export const gpt2 = defineArchitecture({
  name: 'gpt2',
  readConfig: (keys) => readBaseConfig(keys, { rope: 'none', norm: 'layer' }),
  tensors: {
    global: {
      tokenEmbd: matrix('token_embd.weight', shape.tokenEmbd),
      positionEmbd: matrix('position_embd.weight', (c) => [c.embeddingLength, c.contextLength]),
      outputNorm: vector('output_norm.weight', shape.embd),
      outputNormBias: vector('output_norm.bias', shape.embd),
      output: optionalMatrix('output.weight', shape.tokenEmbd),
    },
    layer: {
      attnNorm: vector('attn_norm.weight', shape.embd),
      attnNormBias: vector('attn_norm.bias', shape.embd),
      ...qkvTensors,
      output: matrix('attn_output.weight', shape.attnOut),
      outputBias: vector('attn_output.bias', shape.embd),
      ffnNorm: vector('ffn_norm.weight', shape.embd),
      ffnNormBias: vector('ffn_norm.bias', shape.embd),
      up: matrix('ffn_up.weight', shape.ffnIn),
      upBias: vector('ffn_up.bias', shape.ffnBias),
      down: matrix('ffn_down.weight', shape.ffnOut),
      downBias: vector('ffn_down.bias', shape.embd),
    },
  },
  forward(f, w, c) {
    if (f.position + f.n > w.positionEmbd.rows) {
      // The session's context is capped at the model's, so only a hand-built config reaches this.
      throw new ModelConfigError('INCONSISTENT', 'gpt2.context_length', `position ${f.position + f.n - 1} has no row in position_embd (${w.positionEmbd.rows} rows)`);
    }
    const x = f.embed(w.tokenEmbd);
    f.addPositionEmbedding(x, w.positionEmbd);
    for (let il = 0; il < c.blockCount; il++) {
      const L = w.layers[il]!;
      f.beginLayer(il);
      f.add(x, selfAttention(f, f.layerNorm(x, L.attnNorm, L.attnNormBias), L, c));
      f.add(x, feedForward(f, f.layerNorm(x, L.ffnNorm, L.ffnNormBias), L, 'gelu'));
    }
    return f.logits(w.output ?? w.tokenEmbd, f.layerNorm(f.outputRows(x), w.outputNorm, w.outputNormBias));
  },
  validate: (w) => requireQkv(w.layers),
});
