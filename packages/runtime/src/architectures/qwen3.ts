/**
 * qwen3 (Qwen3 dense). Deviations from llama: NeoX RoPE; a per-head RMSNorm of Q and of K
 * (`attn_q_norm` / `attn_k_norm`, headDim weights, same epsilon) before RoPE; head width from
 * `attention.key_length`, so heads x headDim may differ from n_embd (attn_output maps it back); no biases.
 */
import { readBaseConfig } from '../model/config.js';
import { matrix, optionalMatrix, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { preNormDecoder, qkvTensors, requireQkv, shape } from './blocks.js';

export const qwen3 = defineArchitecture({
  name: 'qwen3',
  readConfig: (keys) => readBaseConfig(keys, { rope: 'neox', norm: 'rms' }),
  tensors: {
    global: {
      tokenEmbd: matrix('token_embd.weight', shape.tokenEmbd),
      outputNorm: vector('output_norm.weight', shape.embd),
      output: optionalMatrix('output.weight', shape.tokenEmbd),
    },
    layer: {
      attnNorm: vector('attn_norm.weight', shape.embd),
      ...qkvTensors,
      qNorm: vector('attn_q_norm.weight', shape.head),
      kNorm: vector('attn_k_norm.weight', shape.head),
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
