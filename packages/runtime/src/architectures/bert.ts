/**
 * bert (BERT, BGE, MiniLM, E5 ... encoders; llama.cpp's src/models/bert.cpp). An embedding model: it has no
 * LM head, so `Model.embed` is its only use. Deviations from llama: no RoPE — learned absolute positions
 * (`position_embd`, one row per position up to the context length) and the token-type embedding of type 0
 * (`token_types` row 0, "sentence A", as llama.cpp hard-codes) are added to the token embeddings, then a
 * LayerNorm with bias (`token_embd_norm`); bidirectional attention (`attention.causal` = false): every token
 * sees the whole input; separate Q/K/V projections with biases and a biased output projection; post-norm
 * blocks: x = LN(x + attn(x)) (`attn_output_norm`), x = LN(x + ffn(x)) (`layer_output_norm`), LayerNorm
 * epsilon from `attention.layer_norm_epsilon`; a plain GELU FFN (up -> GELU -> down) with biases, GELU
 * evaluated as llama.cpp's CPU backend does (an fp16 table: embeddings agree to ~1e-6, not ~1e-3); MHA; no
 * final norm: the last block's output is the hidden state the pooling reads.
 */
import { ModelConfigError } from '../errors.js';
import { readBaseConfig, readKey, type ConfigKeys, type ModelConfig } from '../model/config.js';
import { matrix, optionalMatrix, vector } from '../model/tensor-table.js';
import { defineArchitecture } from './architecture.js';
import { feedForward, selfAttention, shape, type AttentionWeights, type FeedForwardWeights } from './blocks.js';
import type { IWeightTensor } from '@smallmind/quantization-tensors';
import type { Forward, Rows } from '../model/forward.js';

/** bert's config: the token-type table's row count (`tokenizer.ggml.token_type_count`, default 2). */
export interface BertConfig extends ModelConfig {
  readonly tokenTypeCount: number;
}

const TOKEN_TYPE_COUNT_KEY = 'tokenizer.ggml.token_type_count';

/**
 * An encoder's config (bert, nomic-bert): the base keys, bidirectional attention unless `attention.causal` is
 * true (llama.cpp requires the key), and `tokenizer.ggml.token_type_count` (rows of `token_types`, default 2).
 */
export function readEncoderConfig(keys: ConfigKeys, rope: 'none' | 'neox'): BertConfig {
  const base = readBaseConfig(keys, { rope, norm: 'layer' });
  const { metadata } = keys;
  const tokenTypeCount = metadata.has(TOKEN_TYPE_COUNT_KEY) ? readKey(TOKEN_TYPE_COUNT_KEY, () => metadata.getInteger(TOKEN_TYPE_COUNT_KEY)) : 2;
  if (!Number.isSafeInteger(tokenTypeCount) || tokenTypeCount < 1) {
    throw new ModelConfigError('INVALID_VALUE', TOKEN_TYPE_COUNT_KEY, `model config: "${TOKEN_TYPE_COUNT_KEY}" is ${tokenTypeCount}, expected a positive integer`);
  }
  return { ...base, bidirectional: keys.optionalBool('attention.causal') !== true, tokenTypeCount };
}

/** The input tensors both encoders have: token embedding, optional token types, embedding LayerNorm. */
export const encoderInputTensors = {
  tokenEmbd: matrix('token_embd.weight', shape.tokenEmbd),
  tokenTypes: optionalMatrix('token_types.weight', (c) => [c.embeddingLength, (c as BertConfig).tokenTypeCount]),
  tokenEmbdNorm: vector('token_embd_norm.weight', shape.embd),
  tokenEmbdNormBias: vector('token_embd_norm.bias', shape.embd),
};

/** The post-attention and block-output LayerNorms of an encoder block. */
export const encoderNormTensors = {
  attnOutputNorm: vector('attn_output_norm.weight', shape.embd),
  attnOutputNormBias: vector('attn_output_norm.bias', shape.embd),
  layerOutputNorm: vector('layer_output_norm.weight', shape.embd),
  layerOutputNormBias: vector('layer_output_norm.bias', shape.embd),
};

export const bert = defineArchitecture({
  name: 'bert',
  embeddingOnly: true,
  readConfig: (keys) => readEncoderConfig(keys, 'none'),
  tensors: {
    global: {
      ...encoderInputTensors,
      positionEmbd: matrix('position_embd.weight', (c) => [c.embeddingLength, c.contextLength]),
    },
    layer: {
      q: matrix('attn_q.weight', shape.q),
      qBias: vector('attn_q.bias', shape.qBias),
      k: matrix('attn_k.weight', shape.kv),
      kBias: vector('attn_k.bias', shape.kvBias),
      v: matrix('attn_v.weight', shape.kv),
      vBias: vector('attn_v.bias', shape.kvBias),
      output: matrix('attn_output.weight', shape.attnOut),
      outputBias: vector('attn_output.bias', shape.embd),
      up: matrix('ffn_up.weight', shape.ffnIn),
      upBias: vector('ffn_up.bias', shape.ffnBias),
      down: matrix('ffn_down.weight', shape.ffnOut),
      downBias: vector('ffn_down.bias', shape.embd),
      ...encoderNormTensors,
    },
  },
  forward(f, w, c) {
    if (f.position + f.n > w.positionEmbd.rows) {
      throw new ModelConfigError('INCONSISTENT', 'bert.context_length', `position ${f.position + f.n - 1} has no row in position_embd (${w.positionEmbd.rows} rows)`);
    }
    return postNormEncoder(f, w, c, 'gelu-fp16');
  },
});

/** The weights `postNormEncoder` reads (bert's and nomic-bert's tables). */
export interface PostNormEncoderWeights {
  readonly tokenEmbd: IWeightTensor;
  readonly tokenTypes?: IWeightTensor | undefined;
  /** Learned absolute positions (bert); absent: RoPE in the attention (nomic-bert). */
  readonly positionEmbd?: IWeightTensor | undefined;
  readonly tokenEmbdNorm: Float32Array;
  readonly tokenEmbdNormBias: Float32Array;
  readonly layers: ReadonlyArray<
    AttentionWeights &
      FeedForwardWeights & {
        readonly attnOutputNorm: Float32Array;
        readonly attnOutputNormBias: Float32Array;
        readonly layerOutputNorm: Float32Array;
        readonly layerOutputNormBias: Float32Array;
      }
  >;
}

/**
 * llama.cpp's BERT graph (src/models/bert.cpp), which bert and nomic-bert share: token embedding + token type
 * 0 (+ learned position), LayerNorm; per block x = LN(x + attn(x)), x = LN(x + ffn(x)) with the layer's RoPE
 * (if any) and bidirectional attention from the config; the last block's output is the hidden state.
 */
export function postNormEncoder(f: Forward, w: PostNormEncoderWeights, c: ModelConfig, ffn: 'gelu-fp16' | 'gated-silu'): Rows {
  const x = f.embed(w.tokenEmbd);
  if (w.tokenTypes !== undefined) f.addEmbeddingRow(x, w.tokenTypes, 0);
  if (w.positionEmbd !== undefined) f.addPositionEmbedding(x, w.positionEmbd);
  // The residual stream outlives each block's scratch: every norm is copied back into it.
  x.data.set(f.layerNorm(x, w.tokenEmbdNorm, w.tokenEmbdNormBias).data);
  for (let il = 0; il < c.blockCount; il++) {
    const L = w.layers[il]!;
    f.beginLayer(il);
    f.add(x, selfAttention(f, x, L, c));
    x.data.set(f.layerNorm(x, L.attnOutputNorm, L.attnOutputNormBias).data);
    f.add(x, feedForward(f, x, L, ffn));
    x.data.set(f.layerNorm(x, L.layerOutputNorm, L.layerOutputNormBias).data);
  }
  return f.hiddenStates(f.outputRows(x));
}
