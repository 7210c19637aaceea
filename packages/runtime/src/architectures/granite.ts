/**
 * granite (IBM Granite 3.x dense). Deviations from llama: four scales from metadata — input embeddings
 * times `embedding_scale`, each residual branch (attention and FFN output) times `residual_scale` before
 * its add, attention scores times `attention.scale` (instead of 1/sqrt(headDim)), and logits divided by
 * `logit_scale` (required). Otherwise llama: normal RoPE, RMSNorm, SwiGLU, tied or untied output.
 */
import { readBaseConfig } from '../model/config.js';
import { matrix, optionalMatrix, optionalVector, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { preNormDecoder, qkvTensors, requireQkv, shape } from './blocks.js';

export const granite = defineArchitecture({
  name: 'granite',
  readConfig: (keys) => {
    const base = readBaseConfig(keys, { rope: 'normal', norm: 'rms' });
    const embeddingScale = keys.optionalPositiveNumber('embedding_scale');
    const residualScale = keys.optionalPositiveNumber('residual_scale');
    return {
      ...base,
      attentionScale: keys.optionalPositiveNumber('attention.scale') ?? base.attentionScale,
      logitScale: keys.positiveNumber('logit_scale'),
      ...(embeddingScale === undefined ? {} : { embeddingScale }),
      ...(residualScale === undefined ? {} : { residualScale }),
    };
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
    },
  },
  forward: (f, w, c) => f.scale(preNormDecoder(f, w, c, 'gated-silu'), 1 / (c.logitScale ?? 1)),
  validate: (w) => requireQkv(w.layers),
  ropeFactors: (w) => w.ropeFreqs,
});
