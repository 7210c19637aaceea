/**
 * llama (also Mistral, TinyLlama, SmolLM, Llama 2/3 files, which all say `llama`): the reference family.
 * Pre-RMSNorm blocks, adjacent-pair ("normal") RoPE with optional per-pair frequency factors
 * (`rope_freqs.weight`, Llama 3.1+) and linear scaling, GQA attention, SwiGLU FFN with optional biases,
 * optional attention-output bias, tied output when `output.weight` is absent.
 */
import { readBaseConfig } from '../model/config.js';
import { matrix, optionalMatrix, optionalVector, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { preNormDecoder, qkvTensors, requireQkv, shape } from './blocks.js';

export const llama = defineArchitecture({
  name: 'llama',
  readConfig: (keys) => {
    const config = readBaseConfig(keys, { rope: 'normal', norm: 'rms' });
    const scale = keys.optionalPositiveNumber('attention.scale');
    return scale === undefined ? config : { ...config, attentionScale: scale };
  },
  tensors: {
    global: {
      tokenEmbd: matrix('token_embd.weight', shape.tokenEmbd),
      ropeFreqs: optionalVector('rope_freqs.weight', shape.ropeFactors),
      outputNorm: vector('output_norm.weight', shape.embd),
      output: optionalMatrix('output.weight', shape.tokenEmbd),
    },
    layer: {
      attnNorm: vector('attn_norm.weight', shape.embd),
      ...qkvTensors,
      output: matrix('attn_output.weight', shape.attnOut),
      outputBias: optionalVector('attn_output.bias', shape.embd),
      ffnNorm: vector('ffn_norm.weight', shape.embd),
      gate: matrix('ffn_gate.weight', shape.ffnIn),
      up: matrix('ffn_up.weight', shape.ffnIn),
      down: matrix('ffn_down.weight', shape.ffnOut),
      gateBias: optionalVector('ffn_gate.bias', shape.ffnBias),
      upBias: optionalVector('ffn_up.bias', shape.ffnBias),
      downBias: optionalVector('ffn_down.bias', shape.embd),
    },
  },
  forward: (f, w, c) => preNormDecoder(f, w, c, 'gated-silu'),
  validate: (w) => requireQkv(w.layers),
  ropeFactors: (w) => w.ropeFreqs,
});
