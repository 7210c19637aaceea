import { describe, expect, it } from 'vitest';
import type { SmallMindEngine } from '../engine.js';
import { commonPrefixLength, PoolClosedError, QueueFullError, SlotPool } from './slots.js';

// Slot choice and queueing never touch the engine (sessions are created on first use by `session()`).
const noEngine = {} as SmallMindEngine;
const pool = (parallel: number, maxQueue: number): SlotPool => new SlotPool(noEngine, { parallel, maxQueue, contextSize: undefined });

describe('SlotPool', () => {
  it('counts the shared prefix', () => {
    expect(commonPrefixLength('abcdef', 'abcxyz')).toBe(3);
    expect(commonPrefixLength('', 'abc')).toBe(0);
    expect(commonPrefixLength('abc', 'abc')).toBe(3);
  });

  it('sends a prompt to the slot whose cache it extends, a new conversation to an empty slot', async () => {
    const p = pool(3, 0);
    const a = await p.acquire('<user>hello');
    p.release(a, '<user>hello<bot>hi');
    // Shares only the template's "<user>" with slot a: takes an empty slot instead of evicting a's cache.
    const b = await p.acquire('<user>other');
    expect(b.index).not.toBe(a.index);
    p.release(b, '<user>other<bot>x');
    const again = await p.acquire('<user>hello<bot>hi<user>more');
    expect(again.index).toBe(a.index);
    p.release(again, '<user>hello<bot>hi<user>more<bot>ok');
  });

  it('evicts the least recently used slot when none is empty or reusable', async () => {
    const p = pool(2, 0);
    const a = await p.acquire('aaaa');
    const b = await p.acquire('bbbb');
    p.release(a, 'aaaa');
    p.release(b, 'bbbb');
    const c = await p.acquire('cccc');
    expect(c.index).toBe(a.index);
  });

  it('queues up to maxQueue requests (FIFO), refuses beyond, and hands a released slot to the first waiter', async () => {
    const p = pool(1, 2);
    const held = await p.acquire('x');
    const order: number[] = [];
    const w1 = p.acquire('y').then((s) => (order.push(1), s));
    const w2 = p.acquire('z').then((s) => (order.push(2), s));
    expect(p.queued).toBe(2);
    await expect(p.acquire('w')).rejects.toBeInstanceOf(QueueFullError);
    p.release(held, 'x');
    const s1 = await w1;
    expect(order).toEqual([1]);
    p.release(s1, 'y');
    p.release(await w2, 'z');
    expect(order).toEqual([1, 2]);
    expect(p.busy).toBe(0);
  });

  it('an aborted waiter leaves the queue; close() refuses queued and new requests', async () => {
    const p = pool(1, 4);
    const held = await p.acquire('x');
    const controller = new AbortController();
    const waiting = p.acquire('y', controller.signal);
    controller.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(p.queued).toBe(0);
    const queued = p.acquire('z');
    p.close();
    await expect(queued).rejects.toBeInstanceOf(PoolClosedError);
    await expect(p.acquire('z')).rejects.toBeInstanceOf(PoolClosedError);
    p.release(held, '');
    expect(p.busy).toBe(0);
  });
});
