/**
 * The grammar matcher, after llama.cpp's (src/llama-grammar.cpp): the parse is a set of stacks, each a path
 * of positions into the rules whose top is the next character element to match. Stacks are hash-consed
 * (identical stacks are one object) and stack sets are interned as `GrammarState`s, each caching its
 * transition per code point, so a state reached again costs one map lookup per character.
 */
import { GrammarMatchError } from './errors.js';
import { ELEMENT_CHAR, ELEMENT_END, type CharClass, type CompiledGrammar } from './parser.js';

/** Stacks in one state, at most: an ambiguous grammar can otherwise multiply them without bound. */
export const MAX_STACKS = 4096;
/** Interned stacks and states per grammar before the tables are dropped and rebuilt (the memory bound). */
export const GRAMMAR_TABLE_LIMITS = { maxNodes: 1 << 20, maxStates: 1 << 15 } as const;

/** One frame of a parse stack: a position (a char or rule element), over the frames below it. */
interface StackNode {
  readonly id: number;
  readonly pos: number;
  readonly next: StackNode | null;
}

/** A set of parse stacks: where the grammar can be after the text so far. Immutable and interned. */
export class GrammarState {
  /** ASCII transitions already computed (undefined: not yet; null: rejected). */
  private readonly ascii: Array<GrammarState | null | undefined> = new Array<GrammarState | null | undefined>(128);
  /**
   * Transitions by which stacks a character matches (a bit set, as a number up to 30 stacks): the next state
   * depends on nothing else, so every character of a class shares one computation.
   */
  private readonly bySignature = new Map<number | string, GrammarState>();
  private readonly classes: ReadonlyArray<CharClass>;
  /** The space's epoch these caches belong to (older caches are dropped, see GrammarSpace.step). */
  private epoch: number;

  constructor(
    private readonly space: GrammarSpace,
    /** Stacks whose top is a char element (the empty stack is `accepting`). */
    readonly stacks: readonly StackNode[],
    /** The text so far is a complete sentence of the grammar. */
    readonly accepting: boolean,
    readonly key: string,
  ) {
    const { args, classes } = space.grammar;
    this.classes = stacks.map((node) => classes[args[node.pos]!]!);
    this.epoch = space.epoch;
  }

  /** Nothing more can be matched: the only continuation is the end. */
  get finished(): boolean {
    return this.stacks.length === 0;
  }

  /** The state after one more code point, or null when it is rejected. */
  next(cp: number): GrammarState | null {
    if (this.epoch !== this.space.epoch) {
      // The space dropped its tables: forget the transitions too, so the old states can be collected.
      this.ascii.fill(undefined);
      this.bySignature.clear();
      this.epoch = this.space.epoch;
    }
    if (cp < 128) {
      const cached = this.ascii[cp];
      if (cached !== undefined) return cached;
    }
    const classes = this.classes;
    let signature: number | string;
    if (classes.length <= 30) {
      let bits = 0;
      for (let i = 0; i < classes.length; i++) if (classes[i]!.matches(cp)) bits |= 1 << i;
      signature = bits;
      if (bits === 0) {
        if (cp < 128) this.ascii[cp] = null;
        return null;
      }
    } else {
      const matching: number[] = [];
      for (let i = 0; i < classes.length; i++) if (classes[i]!.matches(cp)) matching.push(i);
      if (matching.length === 0) {
        if (cp < 128) this.ascii[cp] = null;
        return null;
      }
      signature = matching.join(',');
    }
    let result = this.bySignature.get(signature);
    if (result === undefined) {
      result = this.space.step(this, cp);
      this.bySignature.set(signature, result);
    }
    if (cp < 128) this.ascii[cp] = result;
    return result;
  }

  /** Whether some code point in [lo, hi] can come next (a partial UTF-8 character). */
  allowsRange(lo: number, hi: number): boolean {
    for (const cls of this.classes) if (cls.intersects(lo, hi)) return true;
    return false;
  }
}

/** The interning tables of one compiled grammar (shared by all its matchers). */
export class GrammarSpace {
  private nodes = new Map<string, StackNode>();
  private states = new Map<string, GrammarState>();
  private nextId = 1;
  /** Bumped each time the tables are dropped; states reset their transition caches when they see it. */
  epoch = 0;
  readonly initial: GrammarState;

  private readonly maxNodes: number;
  private readonly maxStates: number;

  constructor(
    readonly grammar: CompiledGrammar,
    limits: { readonly maxNodes?: number; readonly maxStates?: number } = {},
  ) {
    this.maxNodes = limits.maxNodes ?? GRAMMAR_TABLE_LIMITS.maxNodes;
    this.maxStates = limits.maxStates ?? GRAMMAR_TABLE_LIMITS.maxStates;
    const collector = this.collector();
    for (const start of grammar.alternatives[grammar.rootRule]!) {
      collector.expand(grammar.kinds[start] === ELEMENT_END ? null : this.node(start, null));
    }
    this.initial = collector.state();
  }

  private node(pos: number, next: StackNode | null): StackNode {
    const key = `${pos},${next === null ? 0 : next.id}`;
    let node = this.nodes.get(key);
    if (node === undefined) {
      node = { id: this.nextId++, pos, next };
      this.nodes.set(key, node);
    }
    return node;
  }

  /** The frame after `pos` (null or the parent when `pos` ends its alternative). */
  private after(pos: number, next: StackNode | null): StackNode | null {
    return this.grammar.kinds[pos + 1] === ELEMENT_END ? next : this.node(pos + 1, next);
  }

  /** Gathers stacks, expanding rule references until every top is a char element. */
  private collector(): { expand(node: StackNode | null): void; state(): GrammarState } {
    const { kinds, args, alternatives } = this.grammar;
    const seen = new Set<number>();
    const tops: StackNode[] = [];
    let accepting = false;
    const expand = (node: StackNode | null): void => {
      if (node === null) {
        accepting = true;
        return;
      }
      if (seen.has(node.id)) return;
      seen.add(node.id);
      if (kinds[node.pos] === ELEMENT_CHAR) {
        tops.push(node);
        if (tops.length > MAX_STACKS) {
          throw new GrammarMatchError('GRAMMAR_TOO_AMBIGUOUS', `the grammar has more than ${MAX_STACKS} parses of the text at once; make it less ambiguous`);
        }
        return;
      }
      const rest = this.after(node.pos, node.next);
      for (const start of alternatives[args[node.pos]!]!) expand(kinds[start] === ELEMENT_END ? rest : this.node(start, rest));
    };
    return {
      expand,
      state: () => {
        tops.sort((a, b) => a.id - b.id);
        const key = `${accepting ? 'A' : ''}${tops.map((n) => n.id).join(',')}`;
        let state = this.states.get(key);
        if (state === undefined) {
          state = new GrammarState(this, tops, accepting, key);
          this.states.set(key, state);
        }
        return state;
      },
    };
  }

  /** The state after `cp`, which matches at least one stack of `state`. */
  step(state: GrammarState, cp: number): GrammarState {
    if (this.nodes.size > this.maxNodes || this.states.size > this.maxStates) {
      // Live states keep their own stacks; only sharing with new ones is lost.
      this.nodes = new Map();
      this.states = new Map();
      this.epoch++;
    }
    const { args, classes } = this.grammar;
    const collector = this.collector();
    for (const node of state.stacks) {
      if (classes[args[node.pos]!]!.matches(cp)) collector.expand(this.after(node.pos, node.next));
    }
    return collector.state();
  }
}

/** Incomplete UTF-8 character at the end of accepted text: the value so far, bytes missing, total length. */
export interface PartialUtf8 {
  readonly value: number;
  readonly remaining: number;
  readonly length: number;
}

/** The smallest code point of each UTF-8 length (anything below is an overlong, invalid form). */
const MIN_OF_LENGTH = [0, 0, 0x80, 0x800, 0x10000] as const;

/** The code points [lo, hi] a partial UTF-8 character can still become (hi < lo: none). */
export function partialRange(partial: PartialUtf8): [number, number] {
  const shift = 6 * partial.remaining;
  const lo = Math.max(partial.value << shift, MIN_OF_LENGTH[partial.length as 2 | 3 | 4]);
  const hi = Math.min((partial.value << shift) | ((1 << shift) - 1), 0x10ffff);
  return [lo, hi];
}

/**
 * Decodes UTF-8 bytes continuing `partial` into code points. Returns null for an invalid sequence (a stray
 * continuation byte, an overlong form, beyond U+10FFFF); else the code points and the partial character
 * left at the end (undefined when none).
 */
export function decodeUtf8(bytes: Uint8Array, partial?: PartialUtf8): { cps: number[]; partial: PartialUtf8 | undefined } | null {
  const cps: number[] = [];
  let value = partial?.value ?? 0;
  let remaining = partial?.remaining ?? 0;
  let length = partial?.length ?? 0;
  for (const b of bytes) {
    if (remaining > 0) {
      if ((b & 0xc0) !== 0x80) return null;
      value = (value << 6) | (b & 0x3f);
      if (--remaining === 0) {
        if (value < MIN_OF_LENGTH[length as 2 | 3 | 4] || value > 0x10ffff) return null;
        cps.push(value);
      }
      continue;
    }
    if (b < 0x80) cps.push(b);
    else if ((b & 0xe0) === 0xc0) {
      value = b & 0x1f;
      remaining = 1;
      length = 2;
    } else if ((b & 0xf0) === 0xe0) {
      value = b & 0x0f;
      remaining = 2;
      length = 3;
    } else if ((b & 0xf8) === 0xf0) {
      value = b & 0x07;
      remaining = 3;
      length = 4;
    } else return null;
  }
  if (remaining === 0) return { cps, partial: undefined };
  const pending = { value, remaining, length };
  const [lo, hi] = partialRange(pending);
  return lo > hi ? null : { cps, partial: pending };
}

/** Matches text against a grammar, one code point (or UTF-8 byte string) at a time. */
export class GrammarMatcher {
  private current: GrammarState | null;
  private pending: PartialUtf8 | undefined;

  constructor(readonly space: GrammarSpace) {
    this.current = space.initial;
  }

  get state(): GrammarState | null {
    return this.current;
  }

  get partial(): PartialUtf8 | undefined {
    return this.pending;
  }

  /** The text so far is a complete sentence (and no UTF-8 character is half done). */
  get accepting(): boolean {
    return this.current !== null && this.current.accepting && this.pending === undefined;
  }

  /** Whether the text so far is still a prefix of some sentence. */
  get alive(): boolean {
    return this.current !== null;
  }

  /** Feeds text (code points); returns whether it still matches. A rejected character kills the matcher. */
  acceptText(text: string): boolean {
    for (const ch of text) this.acceptCodePoint(ch.codePointAt(0)!);
    return this.alive;
  }

  acceptCodePoint(cp: number): boolean {
    if (this.current === null) return false;
    this.current = this.current.next(cp);
    return this.current !== null;
  }

  /** Feeds UTF-8 bytes (a token's piece); a trailing incomplete character stays pending. */
  acceptBytes(bytes: Uint8Array): boolean {
    if (this.current === null) return false;
    const decoded = decodeUtf8(bytes, this.pending);
    if (decoded === null) {
      this.current = null;
      return false;
    }
    for (const cp of decoded.cps) if (!this.acceptCodePoint(cp)) return false;
    this.pending = decoded.partial;
    if (this.pending !== undefined) {
      const [lo, hi] = partialRange(this.pending);
      if (!this.current!.allowsRange(lo, hi)) this.current = null;
    }
    return this.alive;
  }

  /** Takes over another matcher's position (same grammar). */
  restore(other: GrammarMatcher): void {
    this.current = other.current;
    this.pending = other.pending;
  }

  reset(): void {
    this.current = this.space.initial;
    this.pending = undefined;
  }
}
