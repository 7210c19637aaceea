/**
 * Building blocks most families share, written over `Forward`'s operations (llama.cpp's build_qkv /
 * build_attn / build_ffn): shapes of the usual tensors, self-attention with optional biases, fused QKV
 * and per-head Q/K norms, and the feed-forward kinds (gated SiLU/GELU, fused gate+up, plain GELU).
 */
import type { IWeightTensor } from '@smallmind/quantization-tensors';
import { ModelLoadError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import type { Forward, Rows } from '../model/forward.js';
import { optionalMatrix, optionalVector, type ShapeOf } from '../model/tensor-table.js';

const qWidth = (c: ModelConfig): number => c.headCount * c.headDim;
const kvWidth = (c: ModelConfig): number => c.headCountKv * c.headDim;

/** Tensor shapes in ggml `ne` order, as the tables write them. */
export const shape = {
  embd: ((c) => [c.embeddingLength]) as ShapeOf,
  tokenEmbd: ((c) => [c.embeddingLength, c.vocabSize]) as ShapeOf,
  q: ((c) => [c.embeddingLength, qWidth(c)]) as ShapeOf,
  kv: ((c) => [c.embeddingLength, kvWidth(c)]) as ShapeOf,
  qkv: ((c) => [c.embeddingLength, qWidth(c) + 2 * kvWidth(c)]) as ShapeOf,
  qBias: ((c) => [qWidth(c)]) as ShapeOf,
  kvBias: ((c) => [kvWidth(c)]) as ShapeOf,
  qkvBias: ((c) => [qWidth(c) + 2 * kvWidth(c)]) as ShapeOf,
  attnOut: ((c) => [qWidth(c), c.embeddingLength]) as ShapeOf,
  head: ((c) => [c.headDim]) as ShapeOf,
  ffnIn: ((c) => [c.embeddingLength, c.feedForwardLength]) as ShapeOf,
  ffnInFused: ((c) => [c.embeddingLength, 2 * c.feedForwardLength]) as ShapeOf,
  ffnBias: ((c) => [c.feedForwardLength]) as ShapeOf,
  ffnOut: ((c) => [c.feedForwardLength, c.embeddingLength]) as ShapeOf,
  /** RoPE frequency factors: one per rotated pair of the first layer's RoPE. */
  ropeFactors: ((c) => [(c.layers[0]?.rope?.dimensionCount ?? c.headDim) / 2]) as ShapeOf,
};

export interface AttentionWeights {
  /** Separate projections... */
  readonly q?: IWeightTensor | undefined;
  readonly k?: IWeightTensor | undefined;
  readonly v?: IWeightTensor | undefined;
  /** ...or one fused projection (rows: Q, then K, then V). */
  readonly qkv?: IWeightTensor | undefined;
  readonly qBias?: Float32Array | undefined;
  readonly kBias?: Float32Array | undefined;
  readonly vBias?: Float32Array | undefined;
  readonly qkvBias?: Float32Array | undefined;
  /** Per-head RMSNorm of Q and K before RoPE (weights of headDim). */
  readonly qNorm?: Float32Array | undefined;
  readonly kNorm?: Float32Array | undefined;
  readonly output: IWeightTensor;
  readonly outputBias?: Float32Array | undefined;
}

/**
 * Self-attention of the normed input `h`: projections (+biases), optional per-head Q/K norm, the layer's
 * RoPE, attention over the cache (scaled by `scale`, default the config's), output projection (+bias).
 */
export function selfAttention(f: Forward, h: Rows, w: AttentionWeights, c: ModelConfig, scale?: number): Rows {
  let q: Rows;
  let k: Rows;
  let v: Rows;
  if (w.qkv !== undefined) {
    [q, k, v] = f.split(f.linear(w.qkv, h, w.qkvBias), [qWidth(c), kvWidth(c), kvWidth(c)]) as [Rows, Rows, Rows];
  } else {
    [q, k, v] = f.linears([need(w.q, 'attn_q'), need(w.k, 'attn_k'), need(w.v, 'attn_v')], h, [w.qBias, w.kBias, w.vBias]) as [Rows, Rows, Rows];
  }
  if (w.qNorm !== undefined) f.headNorm(q, w.qNorm);
  if (w.kNorm !== undefined) f.headNorm(k, w.kNorm);
  f.rope(q, c.headCount);
  f.rope(k, c.headCountKv);
  return f.linear(w.output, f.attention(q, k, v, scale), w.outputBias);
}

export interface FeedForwardWeights {
  readonly gate?: IWeightTensor | undefined;
  readonly up: IWeightTensor;
  readonly down: IWeightTensor;
  readonly gateBias?: Float32Array | undefined;
  readonly upBias?: Float32Array | undefined;
  readonly downBias?: Float32Array | undefined;
}

/**
 * The FFN of the normed input `h`. `gated-silu` / `gated-gelu`: act(gate h) * (up h) (SwiGLU / GeGLU);
 * `fused-silu`: `up` holds gate then up rows (Phi-3); `gelu`: act(up h) with no gate (GPT-2); `gelu-fp16`: the
 * same with llama.cpp's fp16-table GELU (BERT).
 */
export function feedForward(f: Forward, h: Rows, w: FeedForwardWeights, kind: 'gated-silu' | 'gated-gelu' | 'fused-silu' | 'gelu' | 'gelu-fp16'): Rows {
  let hidden: Rows;
  if (kind === 'gelu' || kind === 'gelu-fp16') {
    hidden = f.gelu(f.linear(w.up, h, w.upBias), kind === 'gelu-fp16');
  } else if (kind === 'fused-silu') {
    const fused = f.linear(w.up, h, w.upBias);
    const [gate, up] = f.split(fused, [fused.width / 2, fused.width / 2]) as [Rows, Rows];
    hidden = f.swiglu(gate, up);
  } else {
    const [gate, up] = f.linears([need(w.gate, 'ffn_gate'), w.up], h, [w.gateBias, w.upBias]) as [Rows, Rows];
    hidden = kind === 'gated-silu' ? f.swiglu(gate, up) : f.geglu(gate, up);
  }
  return f.linear(w.down, hidden, w.downBias);
}

function need<T>(value: T | undefined, what: string): T {
  // The tables and each family's `validate` make this unreachable for files; it guards hand-built weights.
  if (value === undefined) throw new ModelLoadError('MISSING_TENSOR', what, `tensor "${what}" is missing`);
  return value;
}

/** For families whose attention is either fused or split: throws naming what a block lacks. */
export function requireQkv(layers: ReadonlyArray<AttentionWeights>): void {
  layers.forEach((w, il) => {
    if (w.qkv !== undefined) return;
    for (const [name, tensor] of [['attn_q', w.q], ['attn_k', w.k], ['attn_v', w.v]] as const) {
      if (tensor === undefined) {
        const full = `blk.${il}.${name}.weight`;
        throw new ModelLoadError('MISSING_TENSOR', full, `tensor "${full}" is missing (and there is no fused blk.${il}.attn_qkv.weight)`);
      }
    }
  });
}

/**
 * The Q/K/V tensors of a block as llama.cpp's create_tensor_qkv accepts them in every family: one fused
 * `attn_qkv` (with an optional bias) or separate `attn_q` / `attn_k` / `attn_v` (optional biases).
 * Families that spread this into their layer table call `requireQkv` in `validate`.
 */
export const qkvTensors = {
  qkv: optionalMatrix('attn_qkv.weight', shape.qkv),
  qkvBias: optionalVector('attn_qkv.bias', shape.qkvBias),
  q: optionalMatrix('attn_q.weight', shape.q),
  k: optionalMatrix('attn_k.weight', shape.kv),
  v: optionalMatrix('attn_v.weight', shape.kv),
  qBias: optionalVector('attn_q.bias', shape.qBias),
  kBias: optionalVector('attn_k.bias', shape.kvBias),
  vBias: optionalVector('attn_v.bias', shape.kvBias),
};

/** The weights of a llama-shaped decoder (what `preNormDecoder` reads). */
export interface PreNormDecoderWeights {
  readonly tokenEmbd: IWeightTensor;
  readonly outputNorm: Float32Array;
  /** Absent: tied output (`tokenEmbd` is the LM head). */
  readonly output?: IWeightTensor | undefined;
  readonly outputBias?: Float32Array | undefined;
  readonly layers: ReadonlyArray<AttentionWeights & FeedForwardWeights & { readonly attnNorm: Float32Array; readonly ffnNorm: Float32Array }>;
}

/**
 * llama's graph, which most families share: embedding (times `embeddingScale` when set), per block RMSNorm ->
 * self-attention -> residual add, RMSNorm -> FFN of `ffn` kind -> residual add (branches times `residualScale`
 * when set), final RMSNorm, LM head (+ `outputBias`). Returns the logits of `f.outputRows`.
 */
export function preNormDecoder(f: Forward, w: PreNormDecoderWeights, c: ModelConfig, ffn: 'gated-silu' | 'fused-silu'): Rows {
  const x = f.embed(w.tokenEmbd, c.embeddingScale);
  for (let il = 0; il < c.blockCount; il++) {
    const L = w.layers[il]!;
    f.beginLayer(il);
    f.add(x, selfAttention(f, f.rmsNorm(x, L.attnNorm), L, c), c.residualScale);
    f.add(x, feedForward(f, f.rmsNorm(x, L.ffnNorm), L, ffn), c.residualScale);
  }
  return f.logits(w.output ?? w.tokenEmbd, f.rmsNorm(f.outputRows(x), w.outputNorm), w.outputBias);
}
