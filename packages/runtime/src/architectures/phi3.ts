/**
 * phi3 (Phi-3, Phi-3.5, Phi-4-mini). Deviations from llama: NeoX RoPE; usually one fused `attn_qkv`
 * projection (split Q, K, V also accepted); a fused gate+up FFN (`ffn_up` holds 2 x n_ff rows: the first
 * half is the SiLU gate, the second the up projection; there is no `ffn_gate`); Q scaled by 1/sqrt(headDim).
 * Its `attention.sliding_window` key is ignored, as llama.cpp does (Phi SWA is disabled there). LongRoPE
 * (the 128k variants' `rope_factors_long/short` tensors) is refused rather than computed wrongly.
 */
import { ModelLoadError } from '../errors.js';
import { readBaseConfig } from '../model/config.js';
import { matrix, optionalMatrix, optionalVector, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { preNormDecoder, qkvTensors, requireQkv, shape } from './blocks.js';

export const phi3 = defineArchitecture({
  name: 'phi3',
  readConfig: (keys) => readBaseConfig(keys, { rope: 'neox', norm: 'rms' }),
  tensors: {
    global: {
      tokenEmbd: matrix('token_embd.weight', shape.tokenEmbd),
      outputNorm: vector('output_norm.weight', shape.embd),
      output: optionalMatrix('output.weight', shape.tokenEmbd),
      ropeFactorsLong: optionalVector('rope_factors_long.weight', shape.ropeFactors),
      ropeFactorsShort: optionalVector('rope_factors_short.weight', shape.ropeFactors),
    },
    layer: {
      attnNorm: vector('attn_norm.weight', shape.embd),
      ...qkvTensors,
      output: matrix('attn_output.weight', shape.attnOut),
      ffnNorm: vector('ffn_norm.weight', shape.embd),
      up: matrix('ffn_up.weight', shape.ffnInFused),
      down: matrix('ffn_down.weight', shape.ffnOut),
    },
  },
  forward: (f, w, c) => preNormDecoder(f, w, c, 'fused-silu'),
  validate: (w) => {
    requireQkv(w.layers);
    if (w.ropeFactorsLong !== undefined || w.ropeFactorsShort !== undefined) {
      const name = w.ropeFactorsLong !== undefined ? 'rope_factors_long.weight' : 'rope_factors_short.weight';
      throw new ModelLoadError('UNSUPPORTED_TYPE', name, `tensor "${name}": LongRoPE (Phi-3 128k context) is not supported; use a 4k-context Phi-3 file`);
    }
  },
});
