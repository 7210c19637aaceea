import { describe, expect, it } from 'vitest';
import { MergeQueue, SymbolChain } from './symbols.js';

describe('SymbolChain', () => {
  it('starts with one symbol per code point (surrogate pairs stay whole)', () => {
    const chain = new SymbolChain('a😀b');
    expect(chain.count).toBe(3);
    expect(chain.live().map((i) => chain.symbolText(i))).toEqual(['a', '😀', 'b']);
    expect(chain.pairText(0, 1)).toBe('a😀');
  });

  it('merges a symbol into its left neighbour and relinks the chain', () => {
    const chain = new SymbolChain('abcd');
    chain.merge(1, 2);
    expect(chain.live().map((i) => chain.symbolText(i))).toEqual(['a', 'bc', 'd']);
    expect(chain.prev[3]).toBe(1);
    chain.merge(0, 1);
    chain.merge(0, 3);
    expect(chain.live().map((i) => chain.symbolText(i))).toEqual(['abcd']);
  });

  it('can hold a whole word as one symbol', () => {
    const chain = new SymbolChain('\n\n', true);
    expect(chain.live().map((i) => chain.symbolText(i))).toEqual(['\n\n']);
  });
});

describe('MergeQueue', () => {
  it('pops lowest priority first and breaks ties by the leftmost symbol', () => {
    const chain = new SymbolChain('abcdef');
    const queue = new MergeQueue(chain);
    queue.push(3, 4, 2);
    queue.push(1, 2, 1);
    queue.push(4, 5, 1);
    queue.push(0, 1, 2);
    const order: number[] = [];
    for (let c = queue.popCurrent(); c !== undefined; c = queue.popCurrent()) order.push(c.left);
    expect(order).toEqual([1, 4, 0, 3]);
  });

  it('skips candidates whose symbols changed or were merged away since they were queued', () => {
    const chain = new SymbolChain('abc');
    const queue = new MergeQueue(chain);
    queue.push(0, 1, 5);
    queue.push(1, 2, 1);
    const first = queue.popCurrent();
    expect(first).toEqual({ left: 1, right: 2 });
    chain.merge(1, 2); // (0, 1) is stale now: symbol 1 grew
    expect(queue.popCurrent()).toBeUndefined();
    queue.push(0, 1, 0); // re-queued with the new length: current again
    expect(queue.popCurrent()).toEqual({ left: 0, right: 1 });
  });

  it('keeps heap order beyond its initial capacity', () => {
    const n = 1000;
    const chain = new SymbolChain('x'.repeat(n + 1));
    const queue = new MergeQueue(chain);
    for (let i = 0; i < n; i++) queue.push(i, i + 1, (i * 7919) % 101);
    const popped: Array<[number, number]> = [];
    for (let c = queue.popCurrent(); c !== undefined; c = queue.popCurrent()) popped.push([(c.left * 7919) % 101, c.left]);
    expect(popped).toHaveLength(n);
    const sorted = [...popped].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(popped).toEqual(sorted);
  });
});
