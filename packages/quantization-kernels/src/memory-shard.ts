/// <reference path="./webassembly.d.ts" />
import { KernelError } from './errors.js';
import { instantiateKernels, memoryFor, type KernelExports } from './wasm-module.js';

const PAGE = 65536;
/** wasm32 addresses 4 GiB at most. */
export const MAX_SHARD_BYTES = 65536 * PAGE;

/**
 * One shared WebAssembly.Memory holding weights (bump-allocated, never freed before dispose) and a
 * fixed scratch arena for activations, outputs and per-thread decode rows. wasm32 caps a memory at
 * 4 GiB, so a model's weights are spread over as many shards as needed; every thread has one
 * kernel instance per shard, and a kernel only ever touches the shard its tensor lives in.
 */
export class MemoryShard {
  readonly memory: WebAssembly.Memory;
  readonly exports: KernelExports;
  /** Scratch arena [arena, arena + arenaBytes). */
  readonly arena: number;
  private top: number;
  private pages: number;

  constructor(
    readonly index: number,
    module: WebAssembly.Module,
    /** Largest size this shard may grow to (bytes, multiple of 64 KiB). */
    readonly capacity: number,
    readonly arenaBytes: number,
  ) {
    const maximum = capacity / PAGE;
    this.memory = memoryFor(module, 1, maximum);
    this.pages = 1;
    this.exports = instantiateKernels(module, this.memory);
    const base = align(this.exports.heap_base(), 64);
    this.arena = base;
    this.top = base + arenaBytes;
    if (this.top > capacity) {
      throw new KernelError('OUT_OF_MEMORY', `a memory shard of ${capacity} bytes cannot hold its ${arenaBytes}-byte scratch arena`, { field: 'shardBytes' });
    }
    this.ensure(this.top);
    this.exports.fill_f16_table();
  }

  /** Bytes still free for weights. */
  get free(): number {
    return this.capacity - this.top;
  }

  /**
   * The memory's current buffer. Shared: views stay valid when the memory grows; ordinary (a page without
   * cross-origin isolation): growing detaches it, so callers take a fresh view for each use, never keep one.
   */
  get buffer(): ArrayBuffer {
    return this.memory.buffer;
  }

  /**
   * Reserves `bytes` (plus 16 bytes of slack: the kernels load 16 bytes at a time and may read
   * past the end of the last block) at a 64-byte boundary; undefined when the shard is full.
   */
  allocate(bytes: number): number | undefined {
    const start = align(this.top, 64);
    const end = start + bytes + 16;
    if (end > this.capacity) return undefined;
    this.ensure(end);
    this.top = end;
    return start;
  }

  private ensure(end: number): void {
    const needed = Math.ceil(end / PAGE);
    if (needed > this.pages) {
      try {
        this.memory.grow(needed - this.pages);
      } catch (error) {
        throw new KernelError('OUT_OF_MEMORY', `could not grow memory shard ${this.index} to ${needed * PAGE} bytes: ${(error as Error).message}`);
      }
      this.pages = needed;
    }
  }
}

function align(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}
