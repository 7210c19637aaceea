/**
 * nomic-bert (nomic-embed-text v1/v1.5; llama.cpp's src/models/bert.cpp, the LLM_ARCH_NOMIC_BERT path). An
 * embedding model, the BERT graph (`postNormEncoder`) with these deviations from bert: no learned positions —
 * NeoX RoPE on Q and K (`rope.freq_base`, `rope.dimension_count`); one fused QKV projection without bias; the
 * attention output bias is optional; a SwiGLU FFN (silu(gate x) * up x -> down) without biases. Like bert:
 * token type 0 added, embedding LayerNorm, post-norm blocks, bidirectional attention, MHA, pooling from
 * `nomic-bert.pooling_type`.
 */
import { matrix, optionalVector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { encoderInputTensors, encoderNormTensors, postNormEncoder, readEncoderConfig } from './bert.js';
import { shape } from './blocks.js';

export const nomicBert = defineArchitecture({
  name: 'nomic-bert',
  embeddingOnly: true,
  readConfig: (keys) => readEncoderConfig(keys, 'neox'),
  tensors: {
    global: encoderInputTensors,
    layer: {
      qkv: matrix('attn_qkv.weight', shape.qkv),
      output: matrix('attn_output.weight', shape.attnOut),
      outputBias: optionalVector('attn_output.bias', shape.embd),
      gate: matrix('ffn_gate.weight', shape.ffnIn),
      up: matrix('ffn_up.weight', shape.ffnIn),
      down: matrix('ffn_down.weight', shape.ffnOut),
      ...encoderNormTensors,
    },
  },
  forward: (f, w, c) => postNormEncoder(f, w, c, 'gated-silu'),
});
