/**
 * The machinery SPM and BPE share: a word held as a linked list of symbols (initially one per code
 * point) that adjacent merges grow, and a priority queue of candidate merges. Both tokenizers only ever
 * merge a symbol with its right neighbour, so a symbol's start never moves and its length only grows;
 * a queued candidate is stale exactly when either side's length has changed since it was queued.
 */

/** A word as a chain of symbols over its UTF-16 text. */
export class SymbolChain {
  readonly start: Uint32Array;
  /** UTF-16 length; 0 once merged into its left neighbour. */
  readonly length: Uint32Array;
  readonly prev: Int32Array;
  readonly next: Int32Array;
  readonly count: number;

  /** One symbol per code point of `text`, or a single symbol for the whole text when `whole`. */
  constructor(
    readonly text: string,
    whole = false,
  ) {
    const n = whole ? 1 : countCodepoints(text);
    this.count = n;
    this.start = new Uint32Array(n);
    this.length = new Uint32Array(n);
    this.prev = new Int32Array(n);
    this.next = new Int32Array(n);
    for (let i = 0, pos = 0; i < n; i++) {
      const width = whole ? text.length : (text.codePointAt(pos) as number) > 0xffff ? 2 : 1;
      this.start[i] = pos;
      this.length[i] = width;
      this.prev[i] = i - 1;
      this.next[i] = i + 1 < n ? i + 1 : -1;
      pos += width;
    }
  }

  symbolText(i: number): string {
    const s = this.start[i] as number;
    return this.text.slice(s, s + (this.length[i] as number));
  }

  /** Text of symbol `left` followed by its right neighbour `right`. */
  pairText(left: number, right: number): string {
    const s = this.start[left] as number;
    return this.text.slice(s, s + (this.length[left] as number) + (this.length[right] as number));
  }

  /** Merges `right` into its left neighbour `left`. */
  merge(left: number, right: number): void {
    this.length[left] = (this.length[left] as number) + (this.length[right] as number);
    this.length[right] = 0;
    const after = this.next[right] as number;
    this.next[left] = after;
    if (after >= 0) this.prev[after] = left;
  }

  /** Indices of the live symbols, in text order. */
  live(): number[] {
    const out: number[] = [];
    for (let i = this.count > 0 ? 0 : -1; i >= 0; i = this.next[i] as number) out.push(i);
    return out;
  }
}

/**
 * Candidate merges of one chain, lowest `priority` first and, among equals, leftmost first (both
 * llama.cpp queues order ties by the left symbol). Stored as parallel typed arrays: long words queue
 * hundreds of thousands of candidates, and objects per candidate made the garbage collector dominate.
 */
export class MergeQueue {
  private left = new Int32Array(64);
  private right = new Int32Array(64);
  private leftLength = new Uint32Array(64);
  private rightLength = new Uint32Array(64);
  private priority = new Float64Array(64);
  /** Binary heap of candidate slots. */
  private heap = new Int32Array(64);
  private slots = 0;
  private size = 0;

  constructor(private readonly chain: SymbolChain) {}

  push(left: number, right: number, priority: number): void {
    if (this.slots === this.left.length) this.grow();
    const slot = this.slots++;
    this.left[slot] = left;
    this.right[slot] = right;
    this.leftLength[slot] = this.chain.length[left] as number;
    this.rightLength[slot] = this.chain.length[right] as number;
    this.priority[slot] = priority;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = this.heap[parent] as number;
      if (!this.before(slot, p)) break;
      this.heap[i] = p;
      i = parent;
    }
    this.heap[i] = slot;
  }

  /** Removes and returns the best candidate that is still current, or undefined when none is left. */
  popCurrent(): { left: number; right: number } | undefined {
    while (this.size > 0) {
      const slot = this.pop();
      const left = this.left[slot] as number;
      const right = this.right[slot] as number;
      const ll = this.chain.length[left] as number;
      const rl = this.chain.length[right] as number;
      if (ll !== 0 && rl !== 0 && ll === this.leftLength[slot] && rl === this.rightLength[slot]) return { left, right };
    }
    return undefined;
  }

  private before(a: number, b: number): boolean {
    const pa = this.priority[a] as number;
    const pb = this.priority[b] as number;
    return pa < pb || (pa === pb && (this.left[a] as number) < (this.left[b] as number));
  }

  private pop(): number {
    const heap = this.heap;
    const top = heap[0] as number;
    const last = heap[--this.size] as number;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const child = r < this.size && this.before(heap[r] as number, heap[l] as number) ? r : l;
      if (!this.before(heap[child] as number, last)) break;
      heap[i] = heap[child] as number;
      i = child;
    }
    heap[i] = last;
    return top;
  }

  private grow(): void {
    const cap = this.left.length * 2;
    const widen = <A extends Int32Array | Uint32Array | Float64Array>(a: A, make: (n: number) => A): A => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.left = widen(this.left, (n) => new Int32Array(n));
    this.right = widen(this.right, (n) => new Int32Array(n));
    this.leftLength = widen(this.leftLength, (n) => new Uint32Array(n));
    this.rightLength = widen(this.rightLength, (n) => new Uint32Array(n));
    this.priority = widen(this.priority, (n) => new Float64Array(n));
    this.heap = widen(this.heap, (n) => new Int32Array(n));
  }
}

/**
 * Merges the chain to a fixpoint: always the best current candidate (lowest priority, then leftmost),
 * re-examining the new symbol's two neighbours after each merge. `priority` is undefined for pairs that
 * cannot merge.
 */
export function mergeByPriority(chain: SymbolChain, priority: (left: number, right: number) => number | undefined): void {
  const queue = new MergeQueue(chain);
  const consider = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const p = priority(left, right);
    if (p !== undefined) queue.push(left, right, p);
  };
  for (let i = 1; i < chain.count; i++) consider(i - 1, i);
  for (let c = queue.popCurrent(); c !== undefined; c = queue.popCurrent()) {
    chain.merge(c.left, c.right);
    consider(chain.prev[c.left] as number, c.left);
    consider(c.left, chain.next[c.left] as number);
  }
}

function countCodepoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
