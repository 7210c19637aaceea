import { blockFormat, ggmlTypeInfo, type GgmlTypeId, type IWeightTensor } from '@smallmind/quantization-tensors';
import type { KernelBackend } from './backend.js';
import { KernelError } from './errors.js';
import { KERNEL_FORMATS, activationRowBytes, decodedRowBytes, kernelFormat, type KernelFormat } from './kernel-formats.js';
import type { KernelLogger } from './logger.js';
import { MemoryShard } from './memory-shard.js';
import type { ThreadPool } from './thread-pool.js';
import type { CompiledKernels, KernelFunction, WasmVariant } from './wasm-module.js';

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
    const found = kernelFormat(tensor.type);
    const info = ggmlTypeInfo(tensor.type);
    if (found === undefined) return this.fallback(tensor, `no WebAssembly kernel for ${info.name}; using the reference implementation`);
    const { rows, cols } = tensor;
    if (!Number.isSafeInteger(rows) || rows < 1 || !Number.isSafeInteger(cols) || cols < 1 || cols % info.blockSize !== 0) {
      throw new KernelError('BAD_TENSOR', `${info.name} tensor has ${rows} rows of ${cols} columns; columns must be a positive multiple of ${info.blockSize}`, {
        typeName: info.name,
      });
    }
    const rowBytes = (cols / info.blockSize) * info.typeSize;
    const byteLength = rows * rowBytes;
    if (tensor.data.length < byteLength) {
      throw new KernelError('BAD_TENSOR', `${info.name} tensor [${cols} x ${rows}] needs ${byteLength} bytes of data, has ${tensor.data.length}`, {
        typeName: info.name,
      });
    }
    if (this.minimumArena(found.format, rows, cols) > this.settings.arenaBytes || byteLength + 128 > this.settings.shardBytes - this.settings.arenaBytes) {
      return this.fallback(tensor, `${info.name} tensor [${cols} x ${rows}] does not fit one kernel memory shard; using the reference implementation`);
    }
    const { shard, ptr } = this.place(byteLength);
    new Uint8Array(shard.buffer, ptr, byteLength).set(tensor.data.subarray(0, byteLength));
    return new WasmWeightTensor(this, shard, ptr, found.format, found.index, rows, cols, rowBytes);
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
    this.checkAlive();
    const { shard, format, rows, cols, rowBytes, address: w } = tensor;
    const exports = shard.exports;
    const actBytes = activationRowBytes(format.activation, cols);
    const decodeBytes = decodedRowBytes(format, cols);
    const scratchBytes = this.threads * decodeBytes;
    const perRow = align16(cols * 4) + actBytes + align16(rows * 4);
    const chunk = Math.max(1, Math.floor((this.settings.arenaBytes - scratchBytes) / perRow));
    const pool = this.settings.pool;
    for (let i0 = 0; i0 < n; i0 += chunk) {
      const k = Math.min(chunk, n - i0);
      const xPtr = shard.arena + scratchBytes;
      const aPtr = xPtr + align16(k * cols * 4);
      const yPtr = aPtr + k * actBytes;
      const buffer = shard.buffer;
      new Float32Array(buffer, xPtr, k * cols).set(x.subarray(i0 * cols, (i0 + k) * cols));
      exports.quantize_activations(format.activation, xPtr, cols * 4, aPtr, actBytes, cols, k);
      const kernelId = tensor.kernelIndex * 2 + (k === 1 ? 0 : 1);
      const kernel = exports[k === 1 ? `mv_${format.exportName}` : `mm_${format.exportName}`] as KernelFunction;
      const yStride = rows * 4;
      if (pool !== undefined && rows >= this.threads && rows * cols * k >= this.settings.minParallelWork) {
        pool.run(
          { kernel: kernelId, shard: shard.index, w, rowBytes, rows, a: aPtr, aStride: actBytes, n: k, y: yPtr, yStride, cols, scratch: shard.arena, scratchStride: decodeBytes, threads: this.threads },
          (r0, r1) => kernel(w, rowBytes, r0, r1, aPtr, actBytes, k, yPtr, yStride, cols, shard.arena),
        );
      } else {
        kernel(w, rowBytes, 0, rows, aPtr, actBytes, k, yPtr, yStride, cols, shard.arena);
      }
      y.set(new Float32Array(buffer, yPtr, k * rows), i0 * rows);
    }
  }

  private minimumArena(format: KernelFormat, rows: number, cols: number): number {
    return this.threads * decodedRowBytes(format, cols) + align16(cols * 4) + activationRowBytes(format.activation, cols) + align16(rows * 4);
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

  private fallback(tensor: IWeightTensor, message: string): IWeightTensor {
    if (!this.fallbackLogged.has(tensor.type)) {
      this.fallbackLogged.add(tensor.type);
      this.settings.logger.info?.(message);
    }
    return tensor;
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
