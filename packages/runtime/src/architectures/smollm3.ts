/**
 * smollm3 (SmolLM3). Deviations from llama: every fourth layer (il + 1 divisible by 4) has no RoPE at all
 * ("NoPE" layers: Q and K enter attention unrotated); otherwise llama (normal RoPE, RMSNorm, GQA, SwiGLU,
 * tied or untied output).
 */
import { readBaseConfig } from '../model/config.js';
import { matrix, optionalMatrix, optionalVector, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { preNormDecoder, qkvTensors, requireQkv, shape } from './blocks.js';

/** llama.cpp's n_no_rope_layer_step for SmolLM3. */
const NO_ROPE_LAYER_STEP = 4;

export const smollm3 = defineArchitecture({
  name: 'smollm3',
  readConfig: (keys) => {
    const base = readBaseConfig(keys, { rope: 'normal', norm: 'rms' });
    const roped = base.layers[0]!;
    const nope = { ...roped, rope: undefined };
    return { ...base, layers: base.layers.map((_, il) => ((il + 1) % NO_ROPE_LAYER_STEP === 0 ? nope : roped)) };
  },
  tensors: {
    global: {
      tokenEmbd: matrix('token_embd.weight', shape.tokenEmbd),
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
  forward: (f, w, c) => preNormDecoder(f, w, c, 'gated-silu'),
  validate: (w) => requireQkv(w.layers),
});
