/**
 * Parallel slots of one model: each slot is an EngineSession whose KV cache survives between requests. A
 * request takes the free slot whose cached text shares the longest prefix with its prompt, so the second turn
 * of a chat lands where the first one left its cache and prefills only the new tokens. When every slot is busy
 * requests wait in a bounded FIFO queue; beyond it they are refused (the HTTP layer answers 429).
 */
import type { SmallMindEngine } from '../engine.js';
import type { EngineSession } from '../session.js';

export class QueueFullError extends Error {
  readonly code = 'QUEUE_FULL';
  constructor(readonly maxQueue: number) {
    super(`all slots are busy and ${maxQueue} requests are already waiting`);
    this.name = 'QueueFullError';
  }
}

export class PoolClosedError extends Error {
  readonly code = 'SERVER_CLOSING';
  constructor() {
    super('the server is shutting down');
    this.name = 'PoolClosedError';
  }
}

export interface Slot {
  readonly index: number;
  /** The session, created on first use. */
  session: EngineSession | undefined;
  /**
   * The text the slot's KV cache holds (prompt + generated text of the last request). Only a key for choosing
   * a slot: the worker itself finds the exact common token prefix.
   */
  cachedText: string;
  busy: boolean;
  /** When it was last released (a counter): the least recently used slot is evicted first. */
  lastUsed: number;
}

interface Waiter {
  readonly key: string;
  resolve(slot: Slot): void;
  reject(error: Error): void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

export interface SlotPoolOptions {
  readonly parallel: number;
  readonly maxQueue: number;
  readonly contextSize: number | undefined;
  /** Called whenever the number of waiting requests or busy slots changes (metrics). */
  readonly onChange?: (queued: number, busy: number) => void;
}

/** Characters `a` and `b` share at their start. */
export function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

export class SlotPool {
  readonly slots: Slot[];
  private readonly waiting: Waiter[] = [];
  private closed = false;
  private clock = 0;

  constructor(
    private readonly engine: SmallMindEngine,
    private readonly options: SlotPoolOptions,
  ) {
    this.slots = Array.from({ length: options.parallel }, (_, index) => ({ index, session: undefined, cachedText: '', busy: false, lastUsed: 0 }));
  }

  get queued(): number {
    return this.waiting.length;
  }

  get busy(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  /**
   * A free slot for a prompt whose text is `key` (see `bestFree`), waiting in the queue when all are busy.
   * @throws QueueFullError when the queue is full; PoolClosedError after `close()`; the signal's reason when aborted while waiting.
   */
  async acquire(key: string, signal?: AbortSignal): Promise<Slot> {
    if (this.closed) throw new PoolClosedError();
    const free = this.bestFree(key);
    if (free !== undefined) return this.take(free);
    if (this.waiting.length >= this.options.maxQueue) throw new QueueFullError(this.options.maxQueue);
    const slot = await new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        key,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const at = this.waiting.indexOf(waiter);
          if (at >= 0) this.waiting.splice(at, 1);
          this.changed();
          reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted while queued'));
        },
      };
      if (signal?.aborted === true) {
        waiter.onAbort();
        return;
      }
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiting.push(waiter);
      this.changed();
    });
    return slot;
  }

  /** The slot's session (created with the pool's context size on first use). */
  async session(slot: Slot): Promise<EngineSession> {
    slot.session ??= await this.engine.createSession(this.options.contextSize === undefined ? {} : { contextSize: this.options.contextSize });
    return slot.session;
  }

  /** Gives the slot back; `cachedText` is what its cache now holds ('' when unknown). */
  release(slot: Slot, cachedText: string): void {
    slot.cachedText = cachedText;
    slot.busy = false;
    slot.lastUsed = ++this.clock;
    const next = this.waiting.shift();
    if (next !== undefined) {
      next.signal?.removeEventListener('abort', next.onAbort);
      next.resolve(this.take(slot));
      return;
    }
    this.changed();
  }

  /** Refuses new requests and every queued one; running requests keep their slots until they release them. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) {
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.reject(new PoolClosedError());
    }
    this.changed();
  }

  /**
   * As llama-server: the free slot whose cache the prompt reuses most, if the prompt keeps at least half of that
   * cache; otherwise an empty slot; otherwise the least recently used one (whose cache is lost).
   */
  private bestFree(key: string): Slot | undefined {
    let reuse: Slot | undefined;
    let reuseShared = 0;
    let empty: Slot | undefined;
    let oldest: Slot | undefined;
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const shared = commonPrefixLength(slot.cachedText, key);
      if (shared > 0 && shared * 2 >= slot.cachedText.length && shared > reuseShared) {
        reuse = slot;
        reuseShared = shared;
      }
      if (slot.cachedText.length === 0) empty ??= slot;
      if (oldest === undefined || slot.lastUsed < oldest.lastUsed) oldest = slot;
    }
    return reuse ?? empty ?? oldest;
  }

  private take(slot: Slot): Slot {
    slot.busy = true;
    this.changed();
    return slot;
  }

  private changed(): void {
    this.options.onChange?.(this.waiting.length, this.busy);
  }
}
