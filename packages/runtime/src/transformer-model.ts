import type { IWeightTensor } from '@smallmind/quantization-tensors';
import { ContextOverflowError, InvalidInputError, ModelLoadError } from './errors.js';
import { addInPlace, applyRopeNormal, rmsNormRow, ropeAngles, swiGluInPlace } from './math.js';
import type { ModelConfig } from './model-config.js';

/** The weights of one llama block. Matrices are `IWeightTensor`s kept in their file's format. */
export interface LlamaLayerWeights {
  readonly attnNorm: Float32Array;
  readonly attnQ: IWeightTensor;
  readonly attnK: IWeightTensor;
  readonly attnV: IWeightTensor;
  readonly attnOutput: IWeightTensor;
  readonly ffnNorm: Float32Array;
  readonly ffnGate: IWeightTensor;
  readonly ffnUp: IWeightTensor;
  readonly ffnDown: IWeightTensor;
}

/** All weights of a llama model. */
export interface LlamaWeights {
  readonly tokenEmbedding: IWeightTensor;
  readonly outputNorm: Float32Array;
  /** The LM head; pass `tokenEmbedding` itself for a tied-embedding model. */
  readonly output: IWeightTensor;
  readonly layers: readonly LlamaLayerWeights[];
}

export interface TransformerModelOptions {
  /**
   * Context window to enforce, default the config's `contextLength`. The KV cache grows with use,
   * so a large window costs memory only when it is actually filled.
   */
  readonly contextLength?: number;
  /**
   * Most prompt rows run through one batched pass (llama.cpp's ubatch); longer inputs are split,
   * which bounds scratch memory. Default 512.
   */
  readonly maxBatchSize?: number;
}

/** Per-layer F32 key/value cache that grows by doubling, up to the context length. */
class KvCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** Positions the cache can hold without growing. */
  capacity = 0;

  constructor(
    private readonly layerCount: number,
    private readonly rowWidth: number,
    private readonly maxCapacity: number,
  ) {
    this.keys = [];
    this.values = [];
  }

  /** Makes room for `positions` rows, preserving the cached ones. */
  reserve(positions: number, used: number): void {
    if (positions <= this.capacity) return;
    const capacity = Math.min(this.maxCapacity, Math.max(positions, this.capacity * 2, 64));
    for (let layer = 0; layer < this.layerCount; layer++) {
      this.keys[layer] = grow(this.keys[layer], capacity * this.rowWidth, used * this.rowWidth);
      this.values[layer] = grow(this.values[layer], capacity * this.rowWidth, used * this.rowWidth);
    }
    this.capacity = capacity;
  }
}

function grow(old: Float32Array | undefined, length: number, keep: number): Float32Array {
  const next = new Float32Array(length);
  if (old !== undefined) next.set(old.subarray(0, keep));
  return next;
}

/** Scratch rows for one batch of `rows` tokens; reused across calls, regrown only for larger batches. */
class BatchScratch {
  readonly hidden: Float32Array;
  readonly normed: Float32Array;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly attention: Float32Array;
  readonly projected: Float32Array;
  readonly gate: Float32Array;
  readonly up: Float32Array;

  constructor(
    readonly rows: number,
    config: ModelConfig,
  ) {
    const qWidth = config.headCount * config.headDim;
    const kvWidth = config.headCountKv * config.headDim;
    this.hidden = new Float32Array(rows * config.embeddingLength);
    this.normed = new Float32Array(rows * config.embeddingLength);
    this.q = new Float32Array(rows * qWidth);
    this.k = new Float32Array(rows * kvWidth);
    this.v = new Float32Array(rows * kvWidth);
    this.attention = new Float32Array(rows * qWidth);
    this.projected = new Float32Array(rows * config.embeddingLength);
    this.gate = new Float32Array(rows * config.feedForwardLength);
    this.up = new Float32Array(rows * config.feedForwardLength);
  }
}

function checkMatrix(name: string, tensor: IWeightTensor, rows: number, cols: number): void {
  if (tensor.rows !== rows || tensor.cols !== cols) {
    throw new ModelLoadError('WRONG_SHAPE', name, `tensor "${name}" is ${tensor.rows}x${tensor.cols} (rows x cols), expected ${rows}x${cols}`);
  }
}

function checkVector(name: string, vector: Float32Array, length: number): void {
  if (vector.length !== length) {
    throw new ModelLoadError('WRONG_SHAPE', name, `tensor "${name}" has ${vector.length} values, expected ${length}`);
  }
}

/** Checks every weight against the config, naming the first tensor (by GGUF name) that does not fit. */
function checkLlamaWeights(config: ModelConfig, weights: LlamaWeights): void {
  const nEmbd = config.embeddingLength;
  const qWidth = config.headCount * config.headDim;
  const kvWidth = config.headCountKv * config.headDim;
  checkMatrix('token_embd.weight', weights.tokenEmbedding, config.vocabSize, nEmbd);
  checkVector('output_norm.weight', weights.outputNorm, nEmbd);
  checkMatrix('output.weight', weights.output, config.vocabSize, nEmbd);
  if (weights.layers.length !== config.blockCount) {
    throw new ModelLoadError('MISSING_TENSOR', `blk.${weights.layers.length}`, `model has ${weights.layers.length} blocks, config says ${config.blockCount}`);
  }
  weights.layers.forEach((layer, i) => {
    const blk = `blk.${i}`;
    checkVector(`${blk}.attn_norm.weight`, layer.attnNorm, nEmbd);
    checkMatrix(`${blk}.attn_q.weight`, layer.attnQ, qWidth, nEmbd);
    checkMatrix(`${blk}.attn_k.weight`, layer.attnK, kvWidth, nEmbd);
    checkMatrix(`${blk}.attn_v.weight`, layer.attnV, kvWidth, nEmbd);
    checkMatrix(`${blk}.attn_output.weight`, layer.attnOutput, nEmbd, qWidth);
    checkVector(`${blk}.ffn_norm.weight`, layer.ffnNorm, nEmbd);
    checkMatrix(`${blk}.ffn_gate.weight`, layer.ffnGate, config.feedForwardLength, nEmbd);
    checkMatrix(`${blk}.ffn_up.weight`, layer.ffnUp, config.feedForwardLength, nEmbd);
    checkMatrix(`${blk}.ffn_down.weight`, layer.ffnDown, nEmbd, config.feedForwardLength);
  });
}

function positiveIntegerOption(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidInputError('INVALID_OPTION', field, `${field} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * A llama-family decoder with an F32 KV cache. `evaluate` appends tokens to the cache (a whole
 * prompt goes through batched matMuls with a causal mask; a single token is a decode step) and
 * returns the logits of the last one.
 */
export class TransformerModel {
  readonly config: ModelConfig;
  readonly weights: LlamaWeights;
  /** The enforced context window (tokens). */
  readonly contextLength: number;
  readonly maxBatchSize: number;

  private readonly kvCache: KvCache;
  private readonly decodeScratch: BatchScratch;
  private batchScratch: BatchScratch | undefined;
  private readonly ropeCos: Float32Array;
  private readonly ropeSin: Float32Array;
  /** Attention weights of up to four heads (one block of `visible` values each); grows with the KV cache. */
  private scores = new Float32Array(0);
  /** Up to four heads' attention outputs, summed in doubles before it is stored as float32. */
  private readonly valueSums: Float64Array;
  private readonly finalNormed: Float32Array;
  private readonly logits: Float32Array;
  private cachedTokens = 0;

  constructor(config: ModelConfig, weights: LlamaWeights, options: TransformerModelOptions = {}) {
    checkLlamaWeights(config, weights);
    this.config = config;
    this.weights = weights;
    this.contextLength = positiveIntegerOption('contextLength', options.contextLength ?? config.contextLength);
    this.maxBatchSize = positiveIntegerOption('maxBatchSize', options.maxBatchSize ?? 512);
    this.kvCache = new KvCache(config.blockCount, config.headCountKv * config.headDim, this.contextLength);
    this.decodeScratch = new BatchScratch(1, config);
    this.ropeCos = new Float32Array(config.ropeDimensionCount / 2);
    this.ropeSin = new Float32Array(config.ropeDimensionCount / 2);
    this.valueSums = new Float64Array(ATTENTION_HEADS_PER_PASS * config.headDim);
    this.finalNormed = new Float32Array(config.embeddingLength);
    this.logits = new Float32Array(config.vocabSize);
  }

  /** Tokens currently in the KV cache (the position the next token will take). */
  get position(): number {
    return this.cachedTokens;
  }

  /** Empties the KV cache. */
  reset(): void {
    this.cachedTokens = 0;
  }

  /**
   * Runs `tokens` at positions `position .. position + tokens.length - 1`, appends them to the KV
   * cache and returns the logits (vocabSize values) of the last token. The returned array is the
   * model's own buffer, overwritten by the next call: copy it (`.slice()`) to keep it.
   * Throws `ContextOverflowError` (state unchanged) if the tokens do not fit the context window,
   * and `InvalidInputError` for an empty input or a token id outside the vocabulary.
   */
  evaluate(tokens: readonly number[]): Float32Array {
    if (tokens.length === 0) throw new InvalidInputError('EMPTY_INPUT', 'tokens', 'evaluate needs at least one token');
    tokens.forEach((token, i) => {
      if (!Number.isInteger(token) || token < 0 || token >= this.config.vocabSize) {
        throw new InvalidInputError('TOKEN_OUT_OF_RANGE', `tokens[${i}]`, `tokens[${i}] = ${token} is not a token id of this model (0 .. ${this.config.vocabSize - 1})`);
      }
    });
    if (this.cachedTokens + tokens.length > this.contextLength) {
      throw new ContextOverflowError(this.cachedTokens, tokens.length, this.contextLength);
    }
    this.kvCache.reserve(this.cachedTokens + tokens.length, this.cachedTokens);
    if (this.scores.length < ATTENTION_HEADS_PER_PASS * this.kvCache.capacity) this.scores = new Float32Array(ATTENTION_HEADS_PER_PASS * this.kvCache.capacity);
    for (let start = 0; start < tokens.length; start += this.maxBatchSize) {
      const count = Math.min(this.maxBatchSize, tokens.length - start);
      const scratch = this.scratchFor(count);
      this.forwardBatch(tokens, start, count, scratch);
      if (start + count === tokens.length) this.computeLogits(scratch.hidden, (count - 1) * this.config.embeddingLength);
    }
    return this.logits;
  }

  private scratchFor(rows: number): BatchScratch {
    if (rows === 1) return this.decodeScratch;
    if (this.batchScratch === undefined || this.batchScratch.rows < rows) {
      this.batchScratch = new BatchScratch(Math.min(this.maxBatchSize, Math.max(rows, (this.batchScratch?.rows ?? 0) * 2)), this.config);
    }
    return this.batchScratch;
  }

  /** Runs tokens[start .. start + n) through every block; leaves the residual stream in `s.hidden`. */
  private forwardBatch(tokens: readonly number[], start: number, n: number, s: BatchScratch): void {
    const { config, weights } = this;
    const nEmbd = config.embeddingLength;
    const qWidth = config.headCount * config.headDim;
    const kvWidth = config.headCountKv * config.headDim;
    const firstPosition = this.cachedTokens;

    for (let i = 0; i < n; i++) weights.tokenEmbedding.dequantizeRow(tokens[start + i]!, s.hidden, i * nEmbd);

    for (let layer = 0; layer < config.blockCount; layer++) {
      const w = weights.layers[layer]!;
      for (let i = 0; i < n; i++) rmsNormRow(s.hidden, i * nEmbd, w.attnNorm, config.rmsNormEpsilon, s.normed, i * nEmbd);
      multiply(w.attnQ, s.normed, n, s.q);
      multiply(w.attnK, s.normed, n, s.k);
      multiply(w.attnV, s.normed, n, s.v);

      const cacheK = this.kvCache.keys[layer]!;
      const cacheV = this.kvCache.values[layer]!;
      for (let i = 0; i < n; i++) {
        ropeAngles(firstPosition + i, config.ropeDimensionCount, config.ropeFreqBase, this.ropeCos, this.ropeSin);
        applyRopeNormal(s.q, i * qWidth, config.headCount, config.headDim, config.ropeDimensionCount, this.ropeCos, this.ropeSin);
        applyRopeNormal(s.k, i * kvWidth, config.headCountKv, config.headDim, config.ropeDimensionCount, this.ropeCos, this.ropeSin);
      }
      cacheK.set(s.k.subarray(0, n * kvWidth), firstPosition * kvWidth);
      cacheV.set(s.v.subarray(0, n * kvWidth), firstPosition * kvWidth);
      for (let i = 0; i < n; i++) this.attend(s.q, i * qWidth, cacheK, cacheV, firstPosition + i + 1, s.attention, i * qWidth);
      multiply(w.attnOutput, s.attention, n, s.projected);
      addInPlace(s.hidden, s.projected, n * nEmbd);

      for (let i = 0; i < n; i++) rmsNormRow(s.hidden, i * nEmbd, w.ffnNorm, config.rmsNormEpsilon, s.normed, i * nEmbd);
      multiply(w.ffnGate, s.normed, n, s.gate);
      multiply(w.ffnUp, s.normed, n, s.up);
      swiGluInPlace(s.gate, s.up, n * config.feedForwardLength);
      multiply(w.ffnDown, s.gate, n, s.projected);
      addInPlace(s.hidden, s.projected, n * nEmbd);
    }
    this.cachedTokens += n;
  }

  /**
   * Causal multi-head attention of one query row over cache positions [0, visible): softmax of
   * scaled dot products, then the weighted sum of values. Query head h reads KV head
   * h / (headCount / headCountKv) (llama.cpp's GQA grouping: consecutive query heads share one).
   * Query heads that share a KV head run up to four at a time, so each cached row is read once per
   * pass and the four dot products are independent chains (a single head's running sum is one
   * long dependency chain); each head still sums its terms in the same order, in doubles.
   */
  private attend(q: Float32Array, qOffset: number, cacheK: Float32Array, cacheV: Float32Array, visible: number, out: Float32Array, outOffset: number): void {
    const { headCount, headCountKv, headDim } = this.config;
    const group = headCount / headCountKv;
    for (let h = 0; h < headCount; ) {
      const kvHead = Math.floor(h / group);
      const heads = Math.min(ATTENTION_HEADS_PER_PASS, (kvHead + 1) * group - h);
      this.attendHeads(q, qOffset + h * headDim, heads, cacheK, cacheV, kvHead * headDim, visible, out, outOffset + h * headDim);
      h += heads;
    }
  }

  /** `heads` (1..4) consecutive query heads at `qBase` against the KV head at column `kvBase`. */
  private attendHeads(q: Float32Array, qBase: number, heads: number, cacheK: Float32Array, cacheV: Float32Array, kvBase: number, visible: number, out: Float32Array, outBase: number): void {
    const { headCountKv, headDim } = this.config;
    const kvWidth = headCountKv * headDim;
    const scale = Math.fround(1 / Math.sqrt(headDim));
    const scores = this.scores;
    // Missing heads (heads < 4) reuse head 0's query and write past `heads` into scratch only.
    const q1 = qBase + (heads > 1 ? headDim : 0);
    const q2 = qBase + (heads > 2 ? 2 * headDim : 0);
    const q3 = qBase + (heads > 3 ? 3 * headDim : 0);
    const s1 = visible;
    const s2 = 2 * visible;
    const s3 = 3 * visible;
    let max0 = -Infinity;
    let max1 = -Infinity;
    let max2 = -Infinity;
    let max3 = -Infinity;
    for (let t = 0, kBase = kvBase; t < visible; t++, kBase += kvWidth) {
      let dot0 = 0;
      let dot1 = 0;
      let dot2 = 0;
      let dot3 = 0;
      for (let d = 0; d < headDim; d++) {
        const k = cacheK[kBase + d]!;
        dot0 += q[qBase + d]! * k;
        dot1 += q[q1 + d]! * k;
        dot2 += q[q2 + d]! * k;
        dot3 += q[q3 + d]! * k;
      }
      // ggml stores K.q as float32, then scales it.
      const score0 = Math.fround(Math.fround(dot0) * scale);
      const score1 = Math.fround(Math.fround(dot1) * scale);
      const score2 = Math.fround(Math.fround(dot2) * scale);
      const score3 = Math.fround(Math.fround(dot3) * scale);
      scores[t] = score0;
      scores[s1 + t] = score1;
      scores[s2 + t] = score2;
      scores[s3 + t] = score3;
      if (score0 > max0) max0 = score0;
      if (score1 > max1) max1 = score1;
      if (score2 > max2) max2 = score2;
      if (score3 > max3) max3 = score3;
    }
    const inverse0 = softmaxWeights(scores, 0, visible, max0);
    const inverse1 = softmaxWeights(scores, s1, visible, max1);
    const inverse2 = softmaxWeights(scores, s2, visible, max2);
    const inverse3 = softmaxWeights(scores, s3, visible, max3);
    // Positions outer, dimensions inner: each cached value row is read once and contiguously;
    // every output dimension still sums its terms in position order, in a double.
    const acc = this.valueSums;
    const a1 = headDim;
    const a2 = 2 * headDim;
    const a3 = 3 * headDim;
    acc.fill(0);
    for (let t = 0, vBase = kvBase; t < visible; t++, vBase += kvWidth) {
      const w0 = Math.fround(scores[t]! * inverse0);
      const w1 = Math.fround(scores[s1 + t]! * inverse1);
      const w2 = Math.fround(scores[s2 + t]! * inverse2);
      const w3 = Math.fround(scores[s3 + t]! * inverse3);
      for (let d = 0; d < headDim; d++) {
        const v = cacheV[vBase + d]!;
        acc[d] = acc[d]! + w0 * v;
        acc[a1 + d] = acc[a1 + d]! + w1 * v;
        acc[a2 + d] = acc[a2 + d]! + w2 * v;
        acc[a3 + d] = acc[a3 + d]! + w3 * v;
      }
    }
    const count = heads * headDim;
    for (let i = 0; i < count; i++) out[outBase + i] = acc[i]!;
  }

  private computeLogits(hidden: Float32Array, rowOffset: number): void {
    rmsNormRow(hidden, rowOffset, this.weights.outputNorm, this.config.rmsNormEpsilon, this.finalNormed, 0);
    this.weights.output.matVec(this.finalNormed, this.logits);
  }
}

/** Query heads `attendHeads` handles in one pass. */
const ATTENTION_HEADS_PER_PASS = 4;

/**
 * In place over scores[offset .. offset + count): exp(score - max) rounded to float32; returns
 * 1 / (their sum) as float32 (ggml's softmax normalisation factor).
 */
function softmaxWeights(scores: Float32Array, offset: number, count: number, max: number): number {
  let sum = 0;
  for (let i = offset, end = offset + count; i < end; i++) {
    const e = Math.fround(Math.exp(scores[i]! - max));
    scores[i] = e;
    sum += e;
  }
  return Math.fround(1 / sum);
}

/** Y = W X for `n` rows, through the tensor's own kernel (matVec for one row). */
function multiply(weight: IWeightTensor, x: Float32Array, n: number, y: Float32Array): void {
  if (n === 1) weight.matVec(x, y);
  else weight.matMul(x.subarray(0, n * weight.cols), n, y.subarray(0, n * weight.rows));
}

function take<T>(map: ReadonlyMap<string, T>, name: string): T {
  const value = map.get(name);
  if (value === undefined) throw new ModelLoadError('MISSING_TENSOR', name, `tensor "${name}" is missing`);
  return value;
}

/**
 * Picks a llama model's weights out of tensors keyed by GGUF name (matrices as `IWeightTensor`,
 * 1-D norm weights as floats). Without `output.weight` the LM head is `token_embd.weight` (tied).
 */
export function llamaWeightsFromTensors(config: ModelConfig, matrices: ReadonlyMap<string, IWeightTensor>, vectors: ReadonlyMap<string, Float32Array>): LlamaWeights {
  const tokenEmbedding = take(matrices, 'token_embd.weight');
  const layers: LlamaLayerWeights[] = [];
  for (let layer = 0; layer < config.blockCount; layer++) {
    const blk = `blk.${layer}`;
    layers.push({
      attnNorm: take(vectors, `${blk}.attn_norm.weight`),
      attnQ: take(matrices, `${blk}.attn_q.weight`),
      attnK: take(matrices, `${blk}.attn_k.weight`),
      attnV: take(matrices, `${blk}.attn_v.weight`),
      attnOutput: take(matrices, `${blk}.attn_output.weight`),
      ffnNorm: take(vectors, `${blk}.ffn_norm.weight`),
      ffnGate: take(matrices, `${blk}.ffn_gate.weight`),
      ffnUp: take(matrices, `${blk}.ffn_up.weight`),
      ffnDown: take(matrices, `${blk}.ffn_down.weight`),
    });
  }
  return {
    tokenEmbedding,
    outputNorm: take(vectors, 'output_norm.weight'),
    output: matrices.get('output.weight') ?? tokenEmbedding,
    layers,
  };
}
