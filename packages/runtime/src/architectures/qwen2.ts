/**
 * qwen2 (Qwen2, Qwen2.5, DeepSeek-R1-Distill-Qwen). Deviations from llama: NeoX RoPE (element i pairs with
 * i + d/2), biases on Q, K and V (none on the output projection), RMS epsilon usually 1e-6, optional
 * `output.bias`; tied output when `output.weight` is absent.
 */
import { readBaseConfig } from '../model/config.js';
import { matrix, optionalMatrix, optionalVector, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { preNormDecoder, qkvTensors, requireQkv, shape } from './blocks.js';

export const qwen2 = defineArchitecture({
  name: 'qwen2',
  readConfig: (keys) => readBaseConfig(keys, { rope: 'neox', norm: 'rms' }),
  tensors: {
    global: {
      tokenEmbd: matrix('token_embd.weight', shape.tokenEmbd),
      outputNorm: vector('output_norm.weight', shape.embd),
      output: optionalMatrix('output.weight', shape.tokenEmbd),
      outputBias: optionalVector('output.bias', (c) => [c.vocabSize]),
    },
    layer: {
      attnNorm: vector('attn_norm.weight', shape.embd),
      ...qkvTensors,
      output: matrix('attn_output.weight', shape.attnOut),
      ffnNorm: vector('ffn_norm.weight', shape.embd),
      gate: matrix('ffn_gate.weight', shape.ffnIn),
      up: matrix('ffn_up.weight', shape.ffnIn),
      down: matrix('ffn_down.weight', shape.ffnOut),
    },
  },
  forward: (f, w, c) => preNormDecoder(f, w, c, 'gated-silu'),
  validate: (w) => requireQkv(w.layers),
});
