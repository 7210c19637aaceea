import { blockFormat, ggmlTypeInfo, type GgmlTypeId, type IWeightTensor } from '@smallmind/quantization-tensors';
import type { KernelBackend, KvStore, KvStoreShape } from './backend.js';
import { KernelError } from './errors.js';
import { KERNEL_FORMATS, activationRowBytes, decodedRowBytes, kernelFormat, packedActivationBytes, type KernelFormat } from './kernel-formats.js';
import type { KernelLogger } from './logger.js';
import { MAX_SHARD_BYTES, MemoryShard } from './memory-shard.js';
import { MAX_JOBS, type KernelJob, type ThreadPool } from './thread-pool.js';
import { instantiateKernels, memoryFor, type CompiledKernels, type KernelExports, type KernelFunction, type WasmVariant } from './wasm-module.js';

export interface WasmBackendSettings {
  readonly kernels: CompiledKernels;
  readonly pool: ThreadPool | undefined;
  readonly threads: number;
  readonly shardBytes: number;
  readonly arenaBytes: number;
  readonly logger: KernelLogger;
  /** Below this many multiply-adds a product runs on the calling thread alone (sync costs more). */
  readonly minParallelWork: number;
}

const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/**
 * The WebAssembly backend: weights live in shared memory shards, products run the format's fused
 * kernel on every thread of the pool.
 */
export class WasmBackend implements KernelBackend {
  readonly name: WasmVariant;
  readonly threads: number;
  private readonly shards: MemoryShard[] = [];
  private readonly fallbackLogged = new Set<GgmlTypeId>();
  private disposed = false;

  constructor(private readonly settings: WasmBackendSettings) {
    this.name = settings.kernels.variant;
    this.threads = settings.threads;
  }

  /** Memory shards in use (tests and diagnostics). */
  get shardCount(): number {
    return this.shards.length;
  }

  prepare(tensor: IWeightTensor): IWeightTensor {
    this.checkAlive();
    if (tensor instanceof WasmWeightTensor && tensor.owner === this) return tensor;
    const placed = this.allocate(tensor.type, tensor.cols, tensor.rows);
    if (placed === undefined) return tensor;
    if (tensor.data.length < placed.byteLength) {
      throw new KernelError('BAD_TENSOR', `${ggmlTypeInfo(tensor.type).name} tensor [${tensor.cols} x ${tensor.rows}] needs ${placed.byteLength} bytes of data, has ${tensor.data.length}`, {
        typeName: ggmlTypeInfo(tensor.type).name,
      });
    }
    // The one copy of the weights: from the caller's buffer into kernel memory.
    placed.data.set(tensor.data.subarray(0, placed.byteLength));
    return placed;
  }

  allocate(type: GgmlTypeId, cols: number, rows: number): WasmWeightTensor | undefined {
    this.checkAlive();
    const found = kernelFormat(type);
    const info = ggmlTypeInfo(type);
    if (found === undefined) return this.fallback(type, `no WebAssembly kernel for ${info.name}; using the reference implementation`);
    if (!Number.isSafeInteger(rows) || rows < 1 || !Number.isSafeInteger(cols) || cols < 1 || cols % info.blockSize !== 0) {
      throw new KernelError('BAD_TENSOR', `${info.name} tensor has ${rows} rows of ${cols} columns; columns must be a positive multiple of ${info.blockSize}`, {
        typeName: info.name,
      });
    }
    const rowBytes = (cols / info.blockSize) * info.typeSize;
    const byteLength = rows * rowBytes;
    if (this.minimumArena(found.format, rows, cols) > this.settings.arenaBytes || byteLength + 128 > this.settings.shardBytes - this.settings.arenaBytes) {
      return this.fallback(type, `${info.name} tensor [${cols} x ${rows}] does not fit one kernel memory shard; using the reference implementation`);
    }
    const { shard, ptr } = this.place(byteLength);
    return new WasmWeightTensor(this, shard, ptr, found.format, found.index, rows, cols, rowBytes);
  }

  createKvStore(shape: KvStoreShape): WasmKvStore | undefined {
    this.checkAlive();
    const { headCount, headCountKv, headDim, maxPositions, maxFloats } = shape;
    const positive = (value: number): boolean => Number.isSafeInteger(value) && value > 0;
    if (![headCount, headCountKv, headDim, maxPositions, maxFloats].every(positive) || headCount % headCountKv !== 0) {
      throw new KernelError('BAD_ARGUMENT', `KV store shape ${JSON.stringify(shape)}: every field must be a positive integer and headCount a multiple of headCountKv`, { field: 'shape' });
    }
    const layout = kvStoreLayout(shape, 0);
    if (layout.dataBase + maxFloats * 4 + 16 > MAX_SHARD_BYTES) {
      return this.fallbackNote(`a KV cache of ${maxFloats * 4} bytes does not fit one wasm32 memory; attention runs in TypeScript`);
    }
    return new WasmKvStore(this.settings.kernels.module, shape);
  }

  swiglu(gate: Float32Array, up: Float32Array, count: number): void {
    this.checkAlive();
    if (!Number.isSafeInteger(count) || count < 0) throw new KernelError('BAD_ARGUMENT', `count ${count} is not a non-negative integer`, { field: 'count' });
    requireLength('gate', gate.length, count, true);
    requireLength('up', up.length, count, true);
    // Through shard 0's scratch arena (free between products on this thread), in chunks that fit it.
    const shard = this.shards[0] ?? this.newShard();
    const chunk = Math.floor(this.settings.arenaBytes / 32) * 4;
    for (let i0 = 0; i0 < count; i0 += chunk) {
      const k = Math.min(chunk, count - i0);
      const g = shard.arena;
      const u = g + align16(k * 4);
      const buffer = shard.buffer;
      new Float32Array(buffer, g, k).set(gate.subarray(i0, i0 + k));
      new Float32Array(buffer, u, k).set(up.subarray(i0, i0 + k));
      shard.exports.swiglu_f32(g, u, k);
      gate.set(new Float32Array(buffer, g, k), i0);
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.shards.length = 0;
    await this.settings.pool?.dispose();
  }

  /**
   * Runs every kernel (matVec and matMul, on every thread) on synthetic weights placed at the top of
   * shard 0's scratch arena, so V8 has tiered them up before the first real call.
   */
  warmUp(rounds: number): void {
    const shard = this.shards[0] ?? this.newShard();
    const cols = 512;
    const rows = 16;
    const x = new Float32Array(cols * 8).map((_, i) => Math.sin(i));
    const y = new Float32Array(rows * 8);
    for (const [index, format] of KERNEL_FORMATS.entries()) {
      const info = ggmlTypeInfo(format.type);
      const rowBytes = (cols / info.blockSize) * info.typeSize;
      const address = shard.arena + this.settings.arenaBytes - align16(rows * rowBytes + 16);
      // Bytes below 0x40 keep every fp16/bf16 scale and weight finite.
      const bytes = new Uint8Array(shard.buffer, address, rows * rowBytes);
      for (let i = 0; i < bytes.length; i++) bytes[i] = ((i * 2654435761) >>> 24) & 0x3b;
      const tensor = new WasmWeightTensor(this, shard, address, format, index, rows, cols, rowBytes);
      for (let round = 0; round < rounds; round++) {
        this.multiply(tensor, x, 1, y);
        this.multiply(tensor, x, 8, y);
      }
    }
  }

  /** Y = X * W^T for n activation rows, in chunks that fit the shard's scratch arena. */
  multiply(tensor: WasmWeightTensor, x: Float32Array, n: number, y: Float32Array): void {
    this.multiplyGroup([tensor], x, n, [y]);
  }

  /**
   * Whether `tensors` (all this backend's, same shard and columns) can share one multiplyGroup
   * call: one activation row of every kind they need and one output row each fit the arena.
   */
  canGroup(tensors: readonly WasmWeightTensor[]): boolean {
    const first = tensors[0];
    if (first === undefined || tensors.length > MAX_JOBS) return false;
    if (tensors.some((t) => t.owner !== this || t.shard !== first.shard || t.cols !== first.cols)) return false;
    const layout = this.groupLayout(tensors);
    return layout.scratchBytes + layout.fixedBytes + layout.perRow <= this.settings.arenaBytes;
  }

  /**
   * Y_t = X * W_t^T for every tensor t (same shard, same columns): X is copied into kernel memory
   * once, quantized once per activation kind, and all products run in one thread-pool dispatch.
   * Each kernel computes every output row the same way whatever the grouping, so the results are
   * bit-identical to separate calls.
   */
  multiplyGroup(tensors: readonly WasmWeightTensor[], x: Float32Array, n: number, outs: readonly Float32Array[]): void {
    this.checkAlive();
    const first = tensors[0]!;
    const { shard, cols } = first;
    const exports = shard.exports;
    const layout = this.groupLayout(tensors);
    const chunk = Math.max(1, Math.floor((this.settings.arenaBytes - layout.scratchBytes - layout.fixedBytes) / layout.perRow));
    const pool = this.settings.pool;
    const work = tensors.reduce((sum, t) => sum + t.rows, 0) * cols;
    const parallel = pool !== undefined && tensors.every((t) => t.rows >= this.threads);
    for (let i0 = 0; i0 < n; i0 += chunk) {
      const k = Math.min(chunk, n - i0);
      const buffer = shard.buffer;
      const xPtr = shard.arena + layout.scratchBytes;
      let next = xPtr + align16(k * cols * 4);
      new Float32Array(buffer, xPtr, k * cols).set(x.subarray(i0 * cols, (i0 + k) * cols));
      const activations = new Map<number, { ptr: number; bytes: number }>();
      for (const [kind, bytes] of layout.activations) {
        exports.quantize_activations(kind, xPtr, cols * 4, next, bytes, cols, k);
        if (k > 1) exports.pack_rows4(kind, next, bytes, k, cols);
        activations.set(kind, { ptr: next, bytes });
        next += align16(k * bytes + packedActivationBytes(kind, k, cols));
      }
      const jobs: KernelJob[] = tensors.map((tensor) => {
        const act = activations.get(tensor.format.activation)!;
        const job: KernelJob = {
          kernel: tensor.kernelIndex * 2 + (k === 1 ? 0 : 1), shard: shard.index, w: tensor.address, rowBytes: tensor.rowBytes, rows: tensor.rows,
          a: act.ptr, aStride: act.bytes, n: k, y: next, yStride: tensor.rows * 4, cols, scratch: shard.arena, scratchStride: layout.decodeBytes,
        };
        next += align16(k * tensor.rows * 4);
        return job;
      });
      const kernels = tensors.map((tensor) => exports[k === 1 ? `mv_${tensor.format.exportName}` : `mm_${tensor.format.exportName}`] as KernelFunction);
      const call = (j: number, r0: number, r1: number): void => {
        const job = jobs[j]!;
        kernels[j]!(job.w, job.rowBytes, r0, r1, job.a, job.aStride, k, job.y, job.yStride, cols, shard.arena);
      };
      if (parallel && work * k >= this.settings.minParallelWork) pool.run(jobs, this.threads, call);
      else for (const [j, job] of jobs.entries()) call(j, 0, job.rows);
      for (const [j, job] of jobs.entries()) outs[j]!.set(new Float32Array(buffer, job.y, k * job.rows), i0 * job.rows);
    }
  }

  /**
   * Arena use of a group: per-thread decode scratch and fixed bytes, then per activation row: x,
   * each activation kind (with its share of the pack_rows4 tables) and each output.
   */
  private groupLayout(tensors: readonly WasmWeightTensor[]): { decodeBytes: number; scratchBytes: number; fixedBytes: number; perRow: number; activations: Map<number, number> } {
    const cols = tensors[0]!.cols;
    const activations = new Map<number, number>();
    let decodeBytes = 0;
    let outputs = 0;
    for (const t of tensors) {
      activations.set(t.format.activation, activationRowBytes(t.format.activation, cols));
      decodeBytes = Math.max(decodeBytes, decodedRowBytes(t.format, cols));
      outputs += align16(t.rows * 4);
    }
    let perRow = align16(cols * 4) + outputs;
    let fixedBytes = 0;
    for (const [kind, bytes] of activations) {
      // packedActivationBytes(k) <= k * (its 4-row value / 4) + one group + 16; align16 adds <= 15.
      const group = packedActivationBytes(kind, 4, cols);
      perRow += bytes + group / 4;
      fixedBytes += group + 32;
    }
    return { decodeBytes, scratchBytes: this.threads * decodeBytes, fixedBytes, perRow, activations };
  }

  private minimumArena(format: KernelFormat, rows: number, cols: number): number {
    return this.threads * decodedRowBytes(format, cols) + align16(cols * 4) + activationRowBytes(format.activation, cols) + 2 * packedActivationBytes(format.activation, 4, cols) + 32 + align16(rows * 4);
  }

  private place(bytes: number): { shard: MemoryShard; ptr: number } {
    for (const shard of this.shards) {
      const ptr = shard.allocate(bytes);
      if (ptr !== undefined) return { shard, ptr };
    }
    const shard = this.newShard();
    const ptr = shard.allocate(bytes);
    if (ptr === undefined) throw new KernelError('OUT_OF_MEMORY', `${bytes} bytes do not fit an empty memory shard`);
    return { shard, ptr };
  }

  private newShard(): MemoryShard {
    const shard = new MemoryShard(this.shards.length, this.settings.kernels.module, this.settings.shardBytes, this.settings.arenaBytes);
    this.shards.push(shard);
    this.settings.pool?.attachShard(shard.index, shard.memory);
    this.settings.logger.debug?.(`kernel memory shard ${shard.index} created (up to ${this.settings.shardBytes} bytes)`);
    return shard;
  }

  private fallback(type: GgmlTypeId, message: string): undefined {
    if (!this.fallbackLogged.has(type)) {
      this.fallbackLogged.add(type);
      this.settings.logger.info?.(message);
    }
    return undefined;
  }

  private fallbackNote(message: string): undefined {
    this.settings.logger.info?.(message);
    return undefined;
  }

  private checkAlive(): void {
    if (this.disposed) throw new KernelError('BACKEND_DISPOSED', 'the kernel backend was disposed');
  }
}

/** A weight matrix in kernel memory; products run the WebAssembly kernels. */
export class WasmWeightTensor implements IWeightTensor {
  readonly type: GgmlTypeId;
  readonly byteLength: number;

  constructor(
    readonly owner: WasmBackend,
    readonly shard: MemoryShard,
    /** Byte address of the first block in the shard. */
    readonly address: number,
    readonly format: KernelFormat,
    readonly kernelIndex: number,
    readonly rows: number,
    readonly cols: number,
    readonly rowBytes: number,
  ) {
    this.type = format.type;
    this.byteLength = rows * rowBytes;
  }

  /** The block bytes in kernel memory (a view of the shard, never a copy). */
  get data(): Uint8Array {
    return new Uint8Array(this.shard.buffer, this.address, this.byteLength);
  }

  dequantizeRow(row: number, out: Float32Array, outOffset = 0): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.rows) {
      throw new KernelError('BAD_ARGUMENT', `row ${row} is outside 0..${this.rows - 1}`, { field: 'row' });
    }
    requireLength('out', out.length - outOffset, this.cols, outOffset >= 0 && Number.isInteger(outOffset));
    blockFormat(this.type).dequantize(this.data, row * this.rowBytes, out, outOffset, this.cols);
  }

  toFloat32(): Float32Array {
    const out = new Float32Array(this.rows * this.cols);
    blockFormat(this.type).dequantize(this.data, 0, out, 0, this.rows * this.cols);
    return out;
  }

  matVec(x: Float32Array, y: Float32Array): void {
    this.matMul(x, 1, y);
  }

  matMul(x: Float32Array, n: number, y: Float32Array): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new KernelError('BAD_ARGUMENT', `batch size ${n} is not a non-negative integer`, { field: 'n' });
    requireLength('x', x.length, n * this.cols, true);
    requireLength('y', y.length, n * this.rows, true);
    if (n > 0) this.owner.multiply(this, x, n, y);
  }
}

function requireLength(field: string, have: number, need: number, valid: boolean): void {
  if (!valid || have < need) throw new KernelError('BAD_ARGUMENT', `${field} has ${have} elements, needs ${need}`, { field });
}

const PAGE = 65536;

/** Byte layout of a KV store's memory above the module's static data: query, output, kernel scratch, data. */
function kvStoreLayout(shape: KvStoreShape, heapBase: number): { query: number; output: number; scratch: number; dataBase: number } {
  const rowBytes = align16(shape.headCount * shape.headDim * 4);
  const query = Math.ceil(Math.max(heapBase, 1024) / 64) * 64;
  const output = query + rowBytes;
  const scratch = output + rowBytes;
  // attend_f32's scratch: one vector of four heads' scores per visible row (assembly/attention.ts).
  const dataBase = scratch + 16 * shape.maxPositions + 64;
  return { query, output, scratch, dataBase: Math.ceil(dataBase / 64) * 64 };
}

/**
 * A session's KV floats in a WebAssembly memory of its own (grown as the cache fills, dropped with the
 * store), with its own kernel instance running attend_f32 on the calling thread.
 */
export class WasmKvStore implements KvStore {
  private readonly memory: WebAssembly.Memory;
  private readonly exports: KernelExports;
  private readonly layout: { query: number; output: number; scratch: number; dataBase: number };
  private reserved = 0;
  private views: { buffer: ArrayBuffer; data: Float32Array; query: Float32Array; output: Float32Array } | undefined;
  private readonly attendF32: (...args: number[]) => void;

  constructor(module: WebAssembly.Module, readonly shape: KvStoreShape) {
    const maximum = Math.ceil(Math.min(MAX_SHARD_BYTES, kvStoreLayout(shape, 0).dataBase + 1024 * 1024 + shape.maxFloats * 4 + 16) / PAGE);
    // Shared or not as the module was compiled (a page without cross-origin isolation has no shared memory).
    this.memory = memoryFor(module, 1, maximum);
    this.exports = instantiateKernels(module, this.memory);
    this.layout = kvStoreLayout(shape, this.exports.heap_base());
    this.attendF32 = this.exports['attend_f32'] as (...args: number[]) => void;
    this.grow(this.layout.dataBase + 16);
  }

  data(): Float32Array {
    return this.current().data;
  }

  query(): Float32Array {
    return this.current().query;
  }

  output(): Float32Array {
    return this.current().output;
  }

  reserve(floats: number): void {
    if (!Number.isSafeInteger(floats) || floats < 0 || floats > this.shape.maxFloats) {
      throw new KernelError('BAD_ARGUMENT', `KV store reserve of ${floats} floats is outside 0..${this.shape.maxFloats}`, { field: 'floats' });
    }
    if (floats <= this.reserved) return;
    // 16 bytes of slack: the kernel loads 16 bytes at a time.
    this.grow(this.layout.dataBase + floats * 4 + 16);
    this.reserved = floats;
    this.views = undefined;
  }

  attend(keyOffset: number, valueOffset: number, rowStride: number, first: number, end: number, scale: number, softcap: number | undefined): void {
    const { headCount, headCountKv, headDim, maxPositions } = this.shape;
    const kvWidth = headCountKv * headDim;
    const lastRow = (end - 1) * rowStride;
    const valid = Number.isInteger(first) && Number.isInteger(end) && first >= 0 && end > first && end <= maxPositions &&
      Number.isInteger(rowStride) && rowStride >= 0 && Number.isInteger(keyOffset) && keyOffset >= 0 && Number.isInteger(valueOffset) && valueOffset >= 0 &&
      keyOffset + lastRow + kvWidth <= this.reserved && valueOffset + lastRow + kvWidth <= this.reserved;
    if (!valid) {
      throw new KernelError('BAD_ARGUMENT', `attention over rows [${first}, ${end}) at key ${keyOffset} / value ${valueOffset}, stride ${rowStride}, is outside the ${this.reserved} reserved floats`, { field: 'rows' });
    }
    const base = this.layout.dataBase;
    this.attendF32(
      this.layout.query, base + keyOffset * 4, base + valueOffset * 4, rowStride * 4, first, end,
      headCount, headCountKv, headDim, scale, softcap ?? 0, this.layout.output, this.layout.scratch, 0, headCount,
    );
  }

  private current(): { buffer: ArrayBuffer; data: Float32Array; query: Float32Array; output: Float32Array } {
    const buffer = this.memory.buffer;
    if (this.views === undefined || this.views.buffer !== buffer) {
      const width = this.shape.headCount * this.shape.headDim;
      this.views = {
        buffer,
        data: new Float32Array(buffer, this.layout.dataBase, this.reserved),
        query: new Float32Array(buffer, this.layout.query, width),
        output: new Float32Array(buffer, this.layout.output, width),
      };
    }
    return this.views;
  }

  private grow(bytes: number): void {
    const needed = Math.ceil(bytes / PAGE);
    const pages = this.memory.buffer.byteLength / PAGE;
    if (needed <= pages) return;
    try {
      this.memory.grow(needed - pages);
    } catch (error) {
      throw new KernelError('OUT_OF_MEMORY', `could not grow a KV store to ${needed * PAGE} bytes: ${(error as Error).message}`);
    }
  }
}
