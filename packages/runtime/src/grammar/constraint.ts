/**
 * Grammar-constrained sampling: which tokens may come next. The vocabulary is indexed once per tokenizer
 * (a trie over the tokens' code points, cached in a WeakMap), and a mask is computed by walking that trie
 * against the current grammar state: a prefix the grammar rejects prunes every token that starts with it,
 * and the interned states make a walk through text the grammar has seen before a string of map lookups.
 */
import type { Tokenizer } from '../tokenizer/index.js';
import { GrammarMatchError } from './errors.js';
import { decodeUtf8, GrammarMatcher, GrammarSpace, partialRange, type GrammarState } from './matcher.js';
import { compileGrammar, type CompiledGrammar } from './parser.js';

/** Something that restricts which tokens the sampler may pick (a grammar), advanced by each accepted token. */
export interface LogitConstraint {
  /** Sets the logits of the tokens that may not come next to -Infinity. */
  apply(logits: Float32Array): void;
  /** Advances past a generated token. */
  accept(token: number): void;
  /** The output so far is complete: an end-of-generation token is allowed. */
  readonly canEnd: boolean;
  /** Back to the start (a new generation). */
  reset(): void;
}

/** A tokenizer's vocabulary as the grammar sees it: each token's bytes and a code point trie over them. */
export interface VocabularyIndex {
  readonly size: number;
  /** End-of-generation tokens. */
  readonly eog: Int32Array;
  /** Bytes of each token that can appear in constrained text (undefined: control, empty or NUL-led: never). */
  readonly pieces: ReadonlyArray<Uint8Array | undefined>;
  /** Trie nodes in depth-first order: the code point on the edge in, and the end of the node's subtree. */
  readonly nodeCp: Int32Array;
  readonly nodeEnd: Int32Array;
  /** Entries (tokens) ending at each node: entryToken[entryStart[node] .. entryStart[node + 1]). */
  readonly entryStart: Int32Array;
  readonly entryToken: Int32Array;
  /** A token whose bytes end inside a UTF-8 character: that character's value so far and bytes missing (0: none). */
  readonly entryPartialValue: Int32Array;
  readonly entryPartialRemaining: Uint8Array;
  readonly entryPartialLength: Uint8Array;
  /** Tokens left out of the trie because their bytes only continue a character (tried when one is pending). */
  readonly continuations: Int32Array;
}

const indexes = new WeakMap<Tokenizer, VocabularyIndex>();

/** The index of a tokenizer's vocabulary, built on first use and cached with the tokenizer. */
export function vocabularyIndex(tokenizer: Tokenizer): VocabularyIndex {
  let index = indexes.get(tokenizer);
  if (index === undefined) {
    index = buildIndex(tokenizer);
    indexes.set(tokenizer, index);
  }
  return index;
}

function buildIndex(tokenizer: Tokenizer): VocabularyIndex {
  const size = tokenizer.vocabSize;
  const eog: number[] = [];
  const pieces: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(size);
  const entries: Array<{ token: number; cps: number[]; value: number; remaining: number; length: number }> = [];
  const continuations: number[] = [];
  for (let id = 0; id < size; id++) {
    if (tokenizer.isEndOfGeneration(id)) {
      eog.push(id);
      continue;
    }
    const bytes = tokenizer.tokenToPieceBytes(id);
    // Control tokens render as text only when special tokens are shown; the text the grammar sees has none.
    // (Decoded twice so SPM's removal of a leading space from the first token cannot empty a real token.)
    if (bytes.length === 0 || bytes[0] === 0 || tokenizer.decodeBytes([id, id], { skipSpecial: true }).length === 0) continue;
    pieces[id] = bytes;
    const decoded = decodeUtf8(bytes);
    if (decoded === null) {
      continuations.push(id);
      continue;
    }
    entries.push({ token: id, cps: decoded.cps, value: decoded.partial?.value ?? 0, remaining: decoded.partial?.remaining ?? 0, length: decoded.partial?.length ?? 0 });
  }
  entries.sort((a, b) => {
    const n = Math.min(a.cps.length, b.cps.length);
    for (let i = 0; i < n; i++) if (a.cps[i] !== b.cps[i]) return a.cps[i]! - b.cps[i]!;
    return a.cps.length - b.cps.length || a.token - b.token;
  });
  // Depth-first node order falls out of the sorted entries: each entry opens the nodes below its common
  // prefix with the previous one.
  const nodeCp: number[] = [-1];
  const nodeEnd: number[] = [0];
  const nodeOfEntry = new Int32Array(entries.length);
  const path: number[] = [0];
  let previous: number[] = [];
  entries.forEach((entry, e) => {
    const { cps } = entry;
    let common = 0;
    while (common < cps.length && common < previous.length && cps[common] === previous[common]) common++;
    while (path.length - 1 > common) nodeEnd[path.pop()!] = nodeCp.length;
    for (let d = common; d < cps.length; d++) {
      path.push(nodeCp.length);
      nodeCp.push(cps[d]!);
      nodeEnd.push(0);
    }
    nodeOfEntry[e] = path[path.length - 1]!;
    previous = cps;
  });
  while (path.length > 0) nodeEnd[path.pop()!] = nodeCp.length;
  const nodes = nodeCp.length;
  // Entries are in node order already (a node's entries come right after the node is opened).
  const entryStart = new Int32Array(nodes + 1);
  for (const node of nodeOfEntry) entryStart[node + 1]!++;
  for (let i = 0; i < nodes; i++) entryStart[i + 1]! += entryStart[i]!;
  const entryToken = new Int32Array(entries.length);
  const entryPartialValue = new Int32Array(entries.length);
  const entryPartialRemaining = new Uint8Array(entries.length);
  const entryPartialLength = new Uint8Array(entries.length);
  const fill = entryStart.slice(0, nodes);
  entries.forEach((entry, e) => {
    const slot = fill[nodeOfEntry[e]!]!++;
    entryToken[slot] = entry.token;
    entryPartialValue[slot] = entry.value;
    entryPartialRemaining[slot] = entry.remaining;
    entryPartialLength[slot] = entry.length;
  });
  return {
    size,
    eog: Int32Array.from(eog),
    pieces,
    nodeCp: Int32Array.from(nodeCp),
    nodeEnd: Int32Array.from(nodeEnd),
    entryStart,
    entryToken,
    entryPartialValue,
    entryPartialRemaining,
    entryPartialLength,
    continuations: Int32Array.from(continuations),
  };
}

/** Masks computed per grammar state and kept (a few: a state inside a JSON string recurs at every token). */
const MASK_CACHE_SIZE = 16;

/** A compiled grammar ready for matching (its interning tables are shared by every constraint built on it). */
export function grammarSpace(grammar: CompiledGrammar | string): GrammarSpace {
  return new GrammarSpace(typeof grammar === 'string' ? compileGrammar(grammar) : grammar);
}

/** Constrains sampling to a grammar over a tokenizer's vocabulary. */
export class GrammarConstraint implements LogitConstraint {
  private readonly matcher: GrammarMatcher;
  private readonly index: VocabularyIndex;
  private readonly masks = new Map<GrammarState, Uint8Array>();
  private ended = false;

  constructor(
    grammar: GrammarSpace | CompiledGrammar | string,
    private readonly tokenizer: Tokenizer,
  ) {
    this.matcher = new GrammarMatcher(grammar instanceof GrammarSpace ? grammar : grammarSpace(grammar));
    this.index = vocabularyIndex(tokenizer);
  }

  get canEnd(): boolean {
    return this.matcher.accepting;
  }

  /** Nothing but the end can follow (the sentence is complete and cannot be extended). */
  get isComplete(): boolean {
    return this.matcher.accepting && this.matcher.state!.finished;
  }

  /** 1 for each token allowed next (end-of-generation tokens when the grammar can end). */
  allowedTokens(): Uint8Array {
    const state = this.matcher.state;
    const partial = this.matcher.partial;
    if (state === null || this.ended) return new Uint8Array(this.index.size);
    if (partial === undefined) {
      const cached = this.masks.get(state);
      if (cached !== undefined) {
        // Most recently used last.
        this.masks.delete(state);
        this.masks.set(state, cached);
        return cached;
      }
    }
    const allowed = new Uint8Array(this.index.size);
    if (partial === undefined) this.walk(state, allowed);
    else this.testEachToken(allowed);
    if (this.matcher.accepting) for (const id of this.index.eog) allowed[id] = 1;
    if (partial === undefined) {
      if (this.masks.size >= MASK_CACHE_SIZE) this.masks.delete(this.masks.keys().next().value!);
      this.masks.set(state, allowed);
    }
    return allowed;
  }

  /** Allows the tokens ending at `node`, reached in `state` (one ending inside a character: if it can complete). */
  private allowEntries(node: number, state: GrammarState, allowed: Uint8Array): void {
    const { entryStart, entryToken, entryPartialRemaining, entryPartialValue, entryPartialLength } = this.index;
    for (let e = entryStart[node]!, end = entryStart[node + 1]!; e < end; e++) {
      const remaining = entryPartialRemaining[e]!;
      if (remaining === 0) allowed[entryToken[e]!] = 1;
      else {
        const [lo, hi] = partialRange({ value: entryPartialValue[e]!, remaining, length: entryPartialLength[e]! });
        if (state.allowsRange(lo, hi)) allowed[entryToken[e]!] = 1;
      }
    }
  }

  /** Depth-first over the trie, a subtree skipped as soon as its prefix is rejected. */
  private walk(state: GrammarState, allowed: Uint8Array): void {
    const { nodeCp, nodeEnd } = this.index;
    const nodes: number[] = [0];
    const states: GrammarState[] = [state];
    while (nodes.length > 0) {
      const node = nodes.pop()!;
      const here = states.pop()!;
      this.allowEntries(node, here, allowed);
      const end = nodeEnd[node]!;
      for (let child = node + 1; child < end; child = nodeEnd[child]!) {
        const next = here.next(nodeCp[child]!);
        if (next === null) continue;
        // A leaf's tokens are allowed without pushing it.
        if (child + 1 === nodeEnd[child]) this.allowEntries(child, next, allowed);
        else {
          nodes.push(child);
          states.push(next);
        }
      }
    }
  }

  /**
   * `allowedTokens` the slow way, every token tried on its own: the reference the trie walk is tested and
   * benchmarked against.
   */
  allowedTokensByTesting(): Uint8Array {
    const allowed = new Uint8Array(this.index.size);
    if (this.matcher.state === null || this.ended) return allowed;
    this.testEachToken(allowed);
    if (this.matcher.accepting) for (const id of this.index.eog) allowed[id] = 1;
    return allowed;
  }

  /** Every token tried on its own (also the way on when a character is half done, after a lone byte token). */
  private testEachToken(allowed: Uint8Array): void {
    const { pieces } = this.index;
    const probe = new GrammarMatcher(this.matcher.space);
    for (let id = 0; id < pieces.length; id++) {
      const bytes = pieces[id];
      if (bytes === undefined) continue;
      probe.restore(this.matcher);
      if (probe.acceptBytes(bytes)) allowed[id] = 1;
    }
  }

  apply(logits: Float32Array): void {
    const allowed = this.allowedTokens();
    let any = false;
    const n = Math.min(logits.length, allowed.length);
    for (let i = 0; i < n; i++) {
      if (allowed[i] === 0) logits[i] = -Infinity;
      else any = true;
    }
    for (let i = n; i < logits.length; i++) logits[i] = -Infinity;
    if (!any) {
      throw new GrammarMatchError('GRAMMAR_DEAD_END', this.ended ? 'the grammar has already ended' : 'no token of the vocabulary can continue the grammar here');
    }
  }

  /** @throws GrammarMatchError (GRAMMAR_DEAD_END) when the grammar does not allow `token` here. */
  accept(token: number): void {
    if (this.ended) throw new GrammarMatchError('GRAMMAR_DEAD_END', `token ${token} after the end of the grammar`);
    if (this.tokenizer.isEndOfGeneration(token)) {
      if (!this.matcher.accepting) throw new GrammarMatchError('GRAMMAR_DEAD_END', `end-of-generation token ${token} before the grammar is complete`);
      this.ended = true;
      return;
    }
    const bytes = this.index.pieces[token];
    if (bytes === undefined || !this.matcher.acceptBytes(bytes)) {
      throw new GrammarMatchError('GRAMMAR_DEAD_END', `token ${token} (${JSON.stringify(this.tokenizer.tokenToPiece(token))}) is not allowed by the grammar here`);
    }
  }

  reset(): void {
    this.matcher.reset();
    this.ended = false;
  }
}
