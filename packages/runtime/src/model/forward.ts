/**
 * The shared operations an architecture module builds its forward pass from (llama.cpp's build_norm /
 * build_qkv / build_attn / build_ffn). A `Forward` runs one batch of tokens at consecutive positions for one
 * session: activations are `Rows` (n rows of `width` floats) taken from a scratch arena that is reused batch
 * after batch, and reset at every `beginLayer`, so a whole pass allocates nothing once warm.
 *
 * Every op here is plain TypeScript over float32 arrays except the matrix products, which go through the
 * weights' own kernels (`IWeightTensor`: WebAssembly SIMD when the backend prepared them).
 */
import { multiplyShared, type KernelBackend } from '@smallmind/quantization-kernels';
import type { IWeightTensor } from '@smallmind/quantization-tensors';
import { AttentionScratch } from '../ops/attention.js';
import {
  addInPlace,
  applyRopeNeox,
  applyRopeNormal,
  geGluInPlace,
  geluFp16InPlace,
  geluInPlace,
  layerNormRow,
  rmsNormRow,
  ropeAngles,
  scaleInPlace,
  softcapInPlace,
  swiGluInPlace,
} from '../ops/math.js';
import type { ModelConfig, PoolingType, RopeSpec } from './config.js';
import type { KvCache } from './kv-cache.js';

/** What a forward pass takes from the kernel backend besides the weights' own kernels. */
export type ForwardKernels = Pick<KernelBackend, 'createKvStore' | 'swiglu'>;

/** `n` rows of `width` floats, row-major, in `data` (exactly n * width long). */
export class Rows {
  constructor(
    readonly data: Float32Array,
    readonly n: number,
    readonly width: number,
  ) {}
}

/** Angles of one RoPE spec for the batch's positions: row i at i * dimensionCount / 2. */
interface RopeTable {
  readonly cos: Float32Array;
  readonly sin: Float32Array;
}

export class Forward {
  /** Rows in the current batch. */
  n = 0;
  /** Position of the batch's first token. */
  position = 0;
  /** The layer being built (set by `beginLayer`). */
  layer = -1;
  /** Whether the caller wants logits for every row (else only the last). */
  allLogits = false;
  /**
   * An embedding pass: every row is an output row, and `logits` / `hiddenStates` keep a copy of the final
   * hidden states in `hidden` instead of running the LM head (llama.cpp's t_embd).
   */
  embedding = false;
  /** The final hidden states of the last embedding pass (n x n_embd). */
  hidden: Rows | undefined;

  private tokens: readonly number[] = [];
  private tokenStart = 0;
  private readonly pool: Float32Array[] = [];
  private poolNext = 0;
  private residual = new Float32Array(0);
  private readonly ropeTables = new Map<RopeSpec, RopeTable>();
  private readonly attentionScratch: AttentionScratch;
  private logitsBuffer: Float32Array;

  constructor(
    readonly config: ModelConfig,
    private readonly kv: KvCache,
    /** Per-RoPE-spec frequency factors (Llama 3's rope_freqs), by spec. */
    private readonly ropeFactors: ReadonlyMap<RopeSpec, Float32Array> = new Map(),
    /** Element-wise kernels (SwiGLU) in WebAssembly; absent: TypeScript. */
    private readonly kernels?: ForwardKernels,
  ) {
    this.attentionScratch = new AttentionScratch(config);
    this.logitsBuffer = new Float32Array(config.vocabSize);
  }

  /** Prepares a batch: tokens[start .. start + n) at positions position .. position + n - 1. */
  begin(tokens: readonly number[], start: number, n: number, position: number, allLogits: boolean, embedding = false): void {
    this.embedding = embedding;
    this.hidden = undefined;
    this.tokens = tokens;
    this.tokenStart = start;
    this.n = n;
    this.position = position;
    this.allLogits = allLogits;
    this.layer = -1;
    this.poolNext = 0;
    this.ropeTables.clear();
  }

  /** Starts block `layer`: scratch taken since the previous block is reused from here on. */
  beginLayer(layer: number): void {
    this.layer = layer;
    this.poolNext = 0;
  }

  /** Fresh scratch rows (contents undefined) of `width` floats for `n` rows (default: the batch). */
  alloc(width: number, n = this.n): Rows {
    const length = n * width;
    let buffer = this.pool[this.poolNext];
    if (buffer === undefined || buffer.length < length) {
      buffer = new Float32Array(length);
      this.pool[this.poolNext] = buffer;
    }
    this.poolNext++;
    return new Rows(buffer.subarray(0, length), n, width);
  }

  // ---- input ---------------------------------------------------------------------------------------

  /** The residual stream: each token's embedding row (times `scale` when given). Lives for the whole batch. */
  embed(table: IWeightTensor, scale?: number): Rows {
    const width = table.cols;
    const length = this.n * width;
    if (this.residual.length < length) this.residual = new Float32Array(length);
    const x = new Rows(this.residual.subarray(0, length), this.n, width);
    for (let i = 0; i < this.n; i++) table.dequantizeRow(this.tokens[this.tokenStart + i]!, x.data, i * width);
    if (scale !== undefined) scaleInPlace(x.data, length, Math.fround(scale));
    return x;
  }

  /** x += table[row] for every row: BERT's token-type embedding (row 0, "sentence A", as llama.cpp does). */
  addEmbeddingRow(x: Rows, table: IWeightTensor, row: number): void {
    const values = this.alloc(x.width, 1);
    table.dequantizeRow(row, values.data, 0);
    for (let i = 0; i < this.n; i++) addInPlace(x.data.subarray(i * x.width, (i + 1) * x.width), values.data, x.width);
  }

  /** x += table[position] for each row (GPT-2's learned absolute positions). */
  addPositionEmbedding(x: Rows, table: IWeightTensor): void {
    const row = this.alloc(x.width, 1);
    for (let i = 0; i < this.n; i++) {
      table.dequantizeRow(this.position + i, row.data, 0);
      const base = i * x.width;
      for (let c = 0; c < x.width; c++) x.data[base + c] = x.data[base + c]! + row.data[c]!;
    }
  }

  // ---- norms ---------------------------------------------------------------------------------------

  /** RMSNorm of every row, times `weight`. */
  rmsNorm(x: Rows, weight: Float32Array, eps = this.config.normEpsilon): Rows {
    const out = this.alloc(x.width, x.n);
    for (let i = 0; i < x.n; i++) rmsNormRow(x.data, i * x.width, weight, eps, out.data, i * x.width);
    return out;
  }

  /** LayerNorm of every row, times `weight`, plus `bias` when given. */
  layerNorm(x: Rows, weight: Float32Array, bias: Float32Array | undefined, eps = this.config.normEpsilon): Rows {
    const out = this.alloc(x.width, x.n);
    for (let i = 0; i < x.n; i++) layerNormRow(x.data, i * x.width, weight, bias, eps, out.data, i * x.width);
    return out;
  }

  /** In place: RMSNorm of each head (width `weight.length`) of every row, times `weight` (Qwen3/Gemma3 Q/K norm). */
  headNorm(x: Rows, weight: Float32Array, eps = this.config.normEpsilon): Rows {
    const headDim = weight.length;
    for (let offset = 0; offset < x.data.length; offset += headDim) rmsNormRow(x.data, offset, weight, eps, x.data, offset);
    return x;
  }

  // ---- linear layers -------------------------------------------------------------------------------

  /** y = W x (+ bias) for every row, through the weight's own kernel. */
  linear(weight: IWeightTensor, x: Rows, bias?: Float32Array): Rows {
    const out = this.alloc(weight.rows, x.n);
    if (x.n === 1) weight.matVec(x.data, out.data);
    else weight.matMul(x.data, x.n, out.data);
    if (bias !== undefined) addBias(out, bias);
    return out;
  }

  /**
   * y_t = W_t x (+ bias_t) for several matrices of one input (Q, K, V; gate, up). WASM-prepared weights share
   * one quantization of x per activation type and one thread-pool dispatch (`multiplyShared`); results equal
   * separate `linear` calls exactly.
   */
  linears(weights: readonly IWeightTensor[], x: Rows, biases: ReadonlyArray<Float32Array | undefined> = []): Rows[] {
    const outs = weights.map((w) => this.alloc(w.rows, x.n));
    multiplyShared(weights, x.data, x.n, outs.map((o) => o.data));
    outs.forEach((out, i) => {
      const bias = biases[i];
      if (bias !== undefined) addBias(out, bias);
    });
    return outs;
  }

  /** Splits every row into consecutive column groups (a fused QKV or gate+up output). */
  split(x: Rows, widths: readonly number[]): Rows[] {
    const parts = widths.map((w) => this.alloc(w, x.n));
    for (let i = 0; i < x.n; i++) {
      let column = i * x.width;
      for (const part of parts) {
        part.data.set(x.data.subarray(column, column + part.width), i * part.width);
        column += part.width;
      }
    }
    return parts;
  }

  // ---- positions and attention ---------------------------------------------------------------------

  /** In place: the current layer's RoPE over `heads` heads of width config.headDim (a no-op on NoPE layers). */
  rope(x: Rows, heads: number): Rows {
    const spec = this.config.layers[this.layer]?.rope;
    if (spec === undefined) return x;
    const table = this.ropeTable(spec);
    const half = spec.dimensionCount / 2;
    const apply = spec.mode === 'neox' ? applyRopeNeox : applyRopeNormal;
    const headDim = this.config.headDim;
    for (let i = 0; i < x.n; i++) apply(x.data, i * x.width, heads, headDim, spec.dimensionCount, table.cos, table.sin, i * half);
    return x;
  }

  /** Angles for the batch's positions, computed once per spec per batch (not per layer). */
  private ropeTable(spec: RopeSpec): RopeTable {
    let table = this.ropeTables.get(spec);
    if (table === undefined) {
      const half = spec.dimensionCount / 2;
      table = { cos: new Float32Array(this.n * half), sin: new Float32Array(this.n * half) };
      const factors = this.ropeFactors.get(spec);
      for (let i = 0; i < this.n; i++) ropeAngles(this.position + i, spec.dimensionCount, spec.freqBase, table.cos, table.sin, i * half, spec.freqScale, factors);
      this.ropeTables.set(spec, table);
    }
    return table;
  }

  /**
   * Stores k and v (already roped) in the session's cache for the current layer, then runs causal attention
   * of every query row over the cache (restricted to the layer's sliding window), scaled by `scale`
   * (default config.attentionScale) and soft-capped when the config says so. A bidirectional model (BERT)
   * lets every row see the whole batch instead. Returns headCount * headDim values per row.
   */
  attention(q: Rows, k: Rows, v: Rows, scale = this.config.attentionScale): Rows {
    const { headCount, headDim } = this.config;
    const layer = this.layer;
    this.kv.write(layer, this.position, this.n, k.data, v.data);
    const window = this.config.layers[layer]?.slidingWindow;
    const firstVisible = (position: number): number => (window === undefined ? 0 : Math.max(0, position - window + 1));
    const bidirectional = this.config.bidirectional === true;
    const kernel = this.kv.kernelRows(layer);
    if (kernel !== undefined) {
      // The rows stay where they are in kernel memory; only the query row goes in and the output row comes out.
      const { store } = kernel;
      const out = this.alloc(headCount * headDim, q.n);
      const width = headCount * headDim;
      for (let i = 0; i < q.n; i++) {
        const position = this.position + i;
        store.query().set(q.data.subarray(i * q.width, i * q.width + width));
        const first = bidirectional ? 0 : firstVisible(position);
        const end = bidirectional ? this.position + this.n : position + 1;
        store.attend(kernel.keyOffset, kernel.valueOffset, kernel.rowStride, first, end, scale, this.config.attentionSoftcap);
        out.data.set(store.output(), i * out.width);
      }
      return out;
    }
    const rows = this.kv.read(layer, firstVisible(this.position), this.position + this.n);
    const out = this.alloc(headCount * headDim, q.n);
    const params = { scale, softcap: this.config.attentionSoftcap };
    for (let i = 0; i < q.n; i++) {
      const position = this.position + i;
      const first = bidirectional ? 0 : firstVisible(position) - rows.firstRow;
      const end = bidirectional ? this.position + this.n - rows.firstRow : position + 1 - rows.firstRow;
      this.attentionScratch.attend(q.data, i * q.width, rows.keys, rows.values, first, end, params, out.data, i * out.width);
    }
    return out;
  }

  // ---- feed-forward --------------------------------------------------------------------------------

  /** In place into `gate`: silu(gate) * up (SwiGLU), in the backend's kernel when it has one. */
  swiglu(gate: Rows, up: Rows): Rows {
    if (this.kernels?.swiglu !== undefined) this.kernels.swiglu(gate.data, up.data, gate.data.length);
    else swiGluInPlace(gate.data, up.data, gate.data.length);
    return gate;
  }

  /** In place into `gate`: gelu(gate) * up (GeGLU). */
  geglu(gate: Rows, up: Rows): Rows {
    geGluInPlace(gate.data, up.data, gate.data.length);
    return gate;
  }

  /** In place: gelu(x), exact, or (`fp16Table`) as llama.cpp's CPU backend rounds it (see geluFp16InPlace). */
  gelu(x: Rows, fp16Table = false): Rows {
    if (fp16Table) geluFp16InPlace(x.data, x.data.length);
    else geluInPlace(x.data, x.data.length);
    return x;
  }

  // ---- residual stream -----------------------------------------------------------------------------

  /** In place: x += y (times `scale` when given, Granite's residual scale). */
  add(x: Rows, y: Rows, scale?: number): Rows {
    if (scale !== undefined) scaleInPlace(y.data, y.data.length, Math.fround(scale));
    addInPlace(x.data, y.data, x.data.length);
    return x;
  }

  /** In place: x *= s. */
  scale(x: Rows, s: number): Rows {
    scaleInPlace(x.data, x.data.length, Math.fround(s));
    return x;
  }

  /** In place: cap * tanh(x / cap). */
  softcap(x: Rows, cap: number): Rows {
    softcapInPlace(x.data, 0, x.data.length, cap);
    return x;
  }

  // ---- output --------------------------------------------------------------------------------------

  /** After the last block: the rows that need logits (the last one, or all). Scratch is reset here too. */
  outputRows(x: Rows): Rows {
    this.layer = -1;
    this.poolNext = 0;
    if (this.allLogits || this.embedding || x.n === 1) return x;
    return new Rows(x.data.subarray((x.n - 1) * x.width, x.n * x.width), 1, x.width);
  }

  /** Logits = W h (+ bias) for the output rows; a single row goes into the session's logits buffer. */
  logits(weight: IWeightTensor, h: Rows, bias?: Float32Array): Rows {
    if (this.embedding) return this.hiddenStates(h);
    let out: Rows;
    if (h.n === 1) {
      weight.matVec(h.data, this.logitsBuffer);
      out = new Rows(this.logitsBuffer, 1, weight.rows);
    } else {
      out = new Rows(new Float32Array(h.n * weight.rows), h.n, weight.rows);
      weight.matMul(h.data, h.n, out.data);
    }
    if (bias !== undefined) addBias(out, bias);
    return out;
  }

  /**
   * The end of an encoder's pass (no LM head): keeps a copy of `h` as the batch's hidden states and returns
   * `h`. Decoders reach it through `logits` in an embedding pass.
   */
  hiddenStates(h: Rows): Rows {
    this.hidden = new Rows(h.data.slice(), h.n, h.width);
    return h;
  }
}

/**
 * One vector from the hidden states of a sequence, as llama.cpp pools them: `mean` averages every row,
 * `cls` takes the first row, `last` the last one.
 */
export function poolHiddenStates(hidden: Rows, pooling: Exclude<PoolingType, 'none' | 'rank'>): Float32Array {
  const { data, n, width } = hidden;
  if (pooling === 'cls') return data.slice(0, width);
  if (pooling === 'last') return data.slice((n - 1) * width, n * width);
  const sums = new Float64Array(width);
  for (let i = 0; i < n; i++) for (let c = 0; c < width; c++) sums[c] = sums[c]! + data[i * width + c]!;
  return Float32Array.from(sums, (sum) => sum / n);
}

/** a·b / (|a| |b|), summed in doubles: how embeddings are compared. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/** In place: v / ||v||_2 (a zero vector stays zero), llama.cpp's embd_normalize = 2. */
export function normalizeL2(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}

function addBias(x: Rows, bias: Float32Array): void {
  const { data, width } = x;
  for (let base = 0; base < data.length; base += width) {
    for (let c = 0; c < width; c++) data[base + c] = data[base + c]! + bias[c]!;
  }
}
