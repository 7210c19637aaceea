/**
 * nomic-bert (nomic-embed-text v1/v1.5; llama.cpp's src/models/bert.cpp, the LLM_ARCH_NOMIC_BERT path). An
 * embedding model, the BERT graph (`postNormEncoder`) with these deviations from bert: no learned positions —
 * NeoX RoPE on Q and K (`rope.freq_base`, `rope.dimension_count`); one fused QKV projection without bias; the
 * attention output bias is optional; a SwiGLU FFN (silu(gate x) * up x -> down) without biases. Like bert:
 * token type 0 added, embedding LayerNorm, post-norm blocks, bidirectional attention, MHA, pooling from
 * `nomic-bert.pooling_type`.
 */
import { readBaseConfig } from '../model/config.js';
import { matrix, optionalMatrix, optionalVector, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { postNormEncoder, readTokenTypeCount, type BertConfig } from './bert.js';
import { shape } from './blocks.js';

export const nomicBert = defineArchitecture({
  name: 'nomic-bert',
  embeddingOnly: true,
  readConfig(keys): BertConfig {
    const base = readBaseConfig(keys, { rope: 'neox', norm: 'layer' });
    return { ...base, bidirectional: keys.optionalBool('attention.causal') !== true, tokenTypeCount: readTokenTypeCount(keys) };
  },
  tensors: {
    global: {
      tokenEmbd: matrix('token_embd.weight', shape.tokenEmbd),
      tokenTypes: optionalMatrix('token_types.weight', (c) => [c.embeddingLength, (c as BertConfig).tokenTypeCount]),
      tokenEmbdNorm: vector('token_embd_norm.weight', shape.embd),
      tokenEmbdNormBias: vector('token_embd_norm.bias', shape.embd),
    },
    layer: {
      qkv: matrix('attn_qkv.weight', shape.qkv),
      output: matrix('attn_output.weight', shape.attnOut),
      outputBias: optionalVector('attn_output.bias', shape.embd),
      attnOutputNorm: vector('attn_output_norm.weight', shape.embd),
      attnOutputNormBias: vector('attn_output_norm.bias', shape.embd),
      gate: matrix('ffn_gate.weight', shape.ffnIn),
      up: matrix('ffn_up.weight', shape.ffnIn),
      down: matrix('ffn_down.weight', shape.ffnOut),
      layerOutputNorm: vector('layer_output_norm.weight', shape.embd),
      layerOutputNormBias: vector('layer_output_norm.bias', shape.embd),
    },
  },
  forward: (f, w, c) => postNormEncoder(f, w, c, 'gated-silu'),
});
