/**
 * The machinery SPM and BPE share: a word held as a linked list of symbols (initially one per code
 * point) that adjacent merges grow, and a binary heap of candidate merges. Both tokenizers only ever
 * merge a symbol with its right neighbour, so a symbol's start never moves and its length only grows;
 * a queued candidate is stale exactly when either side's length has changed since it was queued.
 */

/** Binary heap ordered by `before(a, b)` (true when a must come out first). */
export class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(item, items[parent] as T)) break;
      items[i] = items[parent] as T;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && this.before(items[right] as T, items[left] as T) ? right : left;
      if (!this.before(items[child] as T, last)) break;
      items[i] = items[child] as T;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

/** A merge candidate between symbol `left` and its right neighbour `right`. */
export interface Candidate {
  readonly left: number;
  readonly right: number;
  /** Lengths of both sides when queued, to recognise stale candidates. */
  readonly leftLength: number;
  readonly rightLength: number;
}

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

  candidate(left: number, right: number): Candidate {
    return { left, right, leftLength: this.length[left] as number, rightLength: this.length[right] as number };
  }

  /** Whether a queued candidate still describes two live, unchanged neighbours. */
  isCurrent(c: Candidate): boolean {
    return this.length[c.left] === c.leftLength && this.length[c.right] === c.rightLength && c.leftLength > 0 && c.rightLength > 0;
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
  *live(): Generator<number> {
    for (let i = this.count > 0 ? 0 : -1; i >= 0; i = this.next[i] as number) yield i;
  }
}

function countCodepoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff || i + 1 >= text.length) n++;
    else {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      n++;
    }
  }
  return n;
}
