import { InvalidInputError } from './errors.js';
import type { LogitConstraint } from './grammar/constraint.js';
import { argmax } from './ops/math.js';
import { validateOptions, samplingOptionTable, type SamplingOptions } from './sampling/options.js';
import { selectNucleus, selectTop, sortCandidates } from './sampling/select.js';

export { describeRange, samplingOptionTable, validateOptions, validateSamplingOptions } from './sampling/options.js';
export type { OptionSpec, OptionType, SamplingOptions } from './sampling/options.js';

/** A seedable uniform generator on [0, 1): xoshiro128**, seeded through splitmix32. */
export function createRng(seed: number): () => number {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** What a sampler takes besides its (data) options. */
export interface SamplerExtras {
  /**
   * Restricts the tokens (a grammar: `new GrammarConstraint(grammar, tokenizer)`): applied to the logits
   * before the chain, advanced by `accept(token)`.
   */
  readonly constraint?: LogitConstraint;
}

/**
 * Picks the next token from logits, in the order of llama.cpp's default sampler chain
 * (common/sampling.cpp): logit bias -> penalties -> top-k -> typical -> top-p -> min-p -> temperature -> draw.
 * Temperature 0 is greedy: the argmax of what the chain kept, ties to the lowest id.
 *
 * Penalties look at the last `repeatLastN` tokens passed to `accept` (the caller decides whether prompt
 * tokens count, as llama.cpp's callers do). `sample` never records the token it returns.
 */
export class Sampler {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  readonly typicalP: number;
  readonly repeatPenalty: number;
  readonly frequencyPenalty: number;
  readonly presencePenalty: number;
  readonly repeatLastN: number;
  readonly seed: number;
  private readonly logitBias: ReadonlyArray<readonly [number, number]>;
  private random: () => number;
  /** Recent accepted tokens (a ring of `repeatLastN`) and how often each occurs in it. */
  private readonly history: Int32Array;
  private historyStart = 0;
  private historyLength = 0;
  private readonly counts = new Map<number, number>();
  /** Scratch sized to the vocabulary, reused across calls. */
  private work = new Float32Array(0);
  private ids = new Int32Array(0);
  private spare = new Int32Array(0);
  private probs = new Float64Array(0);
  private scores = new Float64Array(0);
  private readonly constraint: LogitConstraint | undefined;
  private constrained = new Float32Array(0);

  /**
   * Options are checked as `validateSamplingOptions` does, except that names outside the table are
   * ignored (so a caller may pass its generation options through).
   * @throws InvalidInputError (code `INVALID_OPTION`) naming the bad option.
   */
  constructor(options: SamplingOptions = {}, extras: SamplerExtras = {}) {
    this.constraint = extras.constraint;
    const o = validateOptions(samplingOptionTable, options, false) as SamplingOptions;
    this.temperature = o.temperature ?? 1;
    this.topK = o.topK ?? 0;
    this.topP = o.topP ?? 1;
    this.minP = o.minP ?? 0;
    this.typicalP = o.typicalP ?? 1;
    this.repeatPenalty = o.repeatPenalty ?? 1;
    this.frequencyPenalty = o.frequencyPenalty ?? 0;
    this.presencePenalty = o.presencePenalty ?? 0;
    this.repeatLastN = o.repeatLastN ?? 64;
    this.seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.logitBias = Object.entries(o.logitBias ?? {}).map(([id, bias]) => [Number(id), bias] as const);
    this.random = createRng(this.seed);
    this.history = new Int32Array(this.hasPenalties ? this.repeatLastN : 0);
  }

  get isGreedy(): boolean {
    return this.temperature === 0;
  }

  private get hasPenalties(): boolean {
    return this.repeatLastN > 0 && (this.repeatPenalty !== 1 || this.frequencyPenalty !== 0 || this.presencePenalty !== 0);
  }

  /**
   * Records a token for the penalties (sampled or forced, e.g. the prompt) and, unless `advanceConstraint`
   * is false (prompt tokens, as llama.cpp's `accept_grammar`), advances the constraint past it.
   */
  accept(token: number, advanceConstraint = true): void {
    if (!Number.isSafeInteger(token) || token < 0) throw new InvalidInputError('TOKEN_OUT_OF_RANGE', 'token', `accepted token ${token} is not a token id`);
    if (advanceConstraint) this.constraint?.accept(token);
    const window = this.history.length;
    if (window === 0) return;
    if (this.historyLength === window) {
      const evicted = this.history[this.historyStart]!;
      const left = this.counts.get(evicted)! - 1;
      if (left === 0) this.counts.delete(evicted);
      else this.counts.set(evicted, left);
      this.history[this.historyStart] = token;
      this.historyStart = (this.historyStart + 1) % window;
    } else {
      this.history[(this.historyStart + this.historyLength++) % window] = token;
    }
    this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
  }

  /** Forgets the accepted tokens and restarts the random generator from the seed. */
  reset(): void {
    this.constraint?.reset();
    this.historyStart = 0;
    this.historyLength = 0;
    this.counts.clear();
    this.random = createRng(this.seed);
  }

  /**
   * @throws InvalidInputError: `EMPTY_INPUT` for zero logits or when every token is banned;
   * `TOKEN_OUT_OF_RANGE` when a logit bias or an accepted token is outside the vocabulary.
   */
  sample(input: Float32Array): number {
    const n = input.length;
    if (n === 0) throw new InvalidInputError('EMPTY_INPUT', 'logits', 'cannot sample from zero logits');
    let logits = input;
    if (this.constraint !== undefined) {
      // The caller's logits stay untouched: the constraint masks a copy.
      if (this.constrained.length !== n) this.constrained = new Float32Array(n);
      this.constrained.set(input);
      this.constraint.apply(this.constrained);
      logits = this.constrained;
    }
    // Plain greedy needs neither a copy nor a filter (argmax never picks NaN: it compares with >).
    if (this.isGreedy && this.typicalP >= 1 && this.logitBias.length === 0 && !this.hasPenalties) {
      const best = argmax(logits);
      if (!(logits[best]! > -Infinity)) throw allBanned();
      return best;
    }
    if (this.work.length !== n) {
      this.work = new Float32Array(n);
      this.ids = new Int32Array(n);
      this.spare = new Int32Array(n);
      this.probs = new Float64Array(n);
      this.scores = new Float64Array(n);
    }
    const work = this.work;
    // NaN would break every comparison below; a NaN logit is a token nobody can pick.
    for (let i = 0; i < n; i++) {
      const v = logits[i]!;
      work[i] = v === v ? v : -Infinity;
    }
    this.applyBias(work);
    this.applyPenalties(work);
    // Top-k, top-p and min-p always keep the best token, so greedy needs no filter unless typical-p is on.
    if (this.isGreedy && this.typicalP >= 1) {
      if (work[argmax(work)] === -Infinity) throw allBanned();
      return argmax(work);
    }

    // The candidates: ids[0..count) (`full`: every id, not materialised), `sorted` best first.
    let count = n;
    let full = true;
    let sorted = false;
    const materialise = (): void => {
      if (!full) return;
      for (let i = 0; i < n; i++) this.ids[i] = i;
      full = false;
    };
    const keepSelected = (k: number): void => {
      count = selectTop(work, full ? undefined : this.ids, count, k, this.spare);
      [this.ids, this.spare] = [this.spare, this.ids];
      full = false;
      sorted = true;
    };

    if (this.topK > 0 && this.topK < count) keepSelected(this.topK);
    if (this.typicalP < 1) {
      materialise();
      count = this.typical(count);
      sorted = false;
    }
    if (this.topP < 1) {
      if (full) {
        count = selectNucleus(work, this.topP, this.ids, this.probs);
        full = false;
        sorted = true;
      } else {
        if (!sorted) sortCandidates(work, this.ids, count);
        sorted = true;
        const max = work[this.ids[0]!]!;
        let total = 0;
        for (let i = 0; i < count; i++) total += Math.exp(work[this.ids[i]!]! - max);
        count = nucleusSize(work, this.ids, count, max, total, this.topP) || count;
      }
    }
    if (this.minP > 0) {
      let max = -Infinity;
      for (let i = 0; i < count; i++) max = Math.max(max, work[full ? i : this.ids[i]!]!);
      const threshold = max + Math.log(this.minP);
      let kept = 0;
      for (let i = 0; i < count; i++) {
        const id = full ? i : this.ids[i]!;
        if (work[id]! >= threshold) this.ids[kept++] = id;
      }
      count = kept;
      full = false;
    }

    const idAt = (i: number): number => (full ? i : this.ids[i]!);
    if (this.isGreedy) {
      let best = idAt(0);
      for (let i = 1; i < count; i++) {
        const id = idAt(i);
        if (work[id]! > work[best]! || (work[id] === work[best] && id < best)) best = id;
      }
      if (work[best] === -Infinity) throw allBanned();
      return best;
    }
    let max = -Infinity;
    for (let i = 0; i < count; i++) max = Math.max(max, work[idAt(i)]!);
    if (max === -Infinity) throw allBanned();
    let total = 0;
    for (let i = 0; i < count; i++) {
      const w = Math.exp((work[idAt(i)]! - max) / this.temperature);
      this.probs[i] = w;
      total += w;
    }
    let threshold = this.random() * total;
    let last = idAt(0);
    for (let i = 0; i < count; i++) {
      const w = this.probs[i]!;
      if (w === 0) continue;
      last = idAt(i);
      threshold -= w;
      if (threshold < 0) return last;
    }
    return last;
  }

  private applyBias(work: Float32Array): void {
    for (const [id, bias] of this.logitBias) {
      if (id >= work.length) throw new InvalidInputError('TOKEN_OUT_OF_RANGE', `logitBias[${id}]`, `logit bias for token ${id}, but the vocabulary has ${work.length} tokens`);
      work[id] = work[id]! + bias;
    }
  }

  /** llama.cpp's penalties: repeat divides a positive / multiplies a negative logit, then count * frequency + presence. */
  private applyPenalties(work: Float32Array): void {
    if (!this.hasPenalties) return;
    for (const [id, count] of this.counts) {
      if (id >= work.length) throw new InvalidInputError('TOKEN_OUT_OF_RANGE', 'token', `accepted token ${id}, but the vocabulary has ${work.length} tokens`);
      let v = work[id]!;
      v = v <= 0 ? v * this.repeatPenalty : v / this.repeatPenalty;
      work[id] = v - count * this.frequencyPenalty - this.presencePenalty;
    }
  }

  /**
   * Locally typical sampling over ids[0..count): order by |surprise - entropy| and keep that prefix
   * whose probability first exceeds typicalP (llama.cpp's rule, strictly greater). Returns the new count.
   */
  private typical(count: number): number {
    const { work, ids, probs, scores } = this;
    let max = -Infinity;
    for (let i = 0; i < count; i++) max = Math.max(max, work[ids[i]!]!);
    if (max === -Infinity) return count;
    let total = 0;
    for (let i = 0; i < count; i++) total += Math.exp(work[ids[i]!]! - max);
    let entropy = 0;
    for (let i = 0; i < count; i++) {
      const p = Math.exp(work[ids[i]!]! - max) / total;
      if (p > 0) entropy -= p * Math.log(p);
    }
    for (let i = 0; i < count; i++) {
      const id = ids[i]!;
      const p = Math.exp(work[id]! - max) / total;
      probs[id] = p;
      scores[id] = p > 0 ? Math.abs(-Math.log(p) - entropy) : Infinity;
    }
    ids.subarray(0, count).sort((a, b) => scores[a]! - scores[b]! || a - b);
    let cumulative = 0;
    for (let i = 0; i < count; i++) {
      cumulative += probs[ids[i]!]!;
      if (cumulative > this.typicalP) return i + 1;
    }
    return count;
  }
}

/** How many of the sorted ids[0..count) reach probability mass p (0 when they do not). */
function nucleusSize(work: Float32Array, ids: Int32Array, count: number, max: number, total: number, p: number): number {
  let cumulative = 0;
  for (let i = 0; i < count; i++) {
    cumulative += Math.exp(work[ids[i]!]! - max) / total;
    if (cumulative >= p) return i + 1;
  }
  return 0;
}

function allBanned(): InvalidInputError {
  return new InvalidInputError('EMPTY_INPUT', 'logits', 'every token is banned (all logits are -Infinity after logit bias and penalties)');
}
