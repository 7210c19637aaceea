import type { GgmlTypeId, IWeightTensor } from '@smallmind/quantization-tensors';

/** Which implementation multiplies: one of the WebAssembly builds, or the plain TS reference. */
export type BackendName = 'wasm-simd128' | 'wasm-relaxed-simd' | 'reference';

/** What `createBackend` returns. */
export interface KernelBackend {
  readonly name: BackendName;
  /** Threads that share each product (the calling thread included). */
  readonly threads: number;
  /**
   * Returns a tensor computing the same function as `tensor` (same type, shape, rows, results up
   * to float summation order) with the fast kernels. Weights are copied into kernel memory once; the
   * returned tensor's `data` is a view of that copy, so the caller may drop the original. Formats
   * without a kernel come back unchanged (logged once per type).
   */
  prepare(tensor: IWeightTensor): IWeightTensor;
  /**
   * Zero-copy loading: reserves kernel memory for a `type` matrix of `rows` x `cols` and returns
   * the prepared tensor, whose `data` (a writable view of that memory, zero-filled) the caller
   * fills with the file's blocks — e.g. by reading the file straight into it — before the first
   * product. Undefined when this backend would not take such a tensor (no kernel for the format,
   * too big for one memory shard, the reference backend): then load it normally and `prepare` it.
   */
  allocate?(type: GgmlTypeId, cols: number, rows: number): IWeightTensor | undefined;
  /**
   * Kernel memory for one session's f32 KV cache and the attention kernel over it (see KvStore).
   * Undefined when this backend has no attention kernel (the reference backend) or the cache would
   * not fit one wasm32 memory: the caller then keeps the cache in JS arrays and attends in TS.
   */
  createKvStore?(shape: KvStoreShape): KvStore | undefined;
  /**
   * In place: gate[i] = silu(gate[i]) * up[i] for i < count (SwiGLU), on the calling thread in kernel
   * memory, with a float32 exponential within 2 ulp (as ggml's). Absent on the reference backend: the
   * caller then computes it in TypeScript.
   */
  swiglu?(gate: Float32Array, up: Float32Array, count: number): void;
  /** Stops worker threads and releases kernel memory; prepared tensors then throw BACKEND_DISPOSED. */
  dispose(): Promise<void>;
}

export interface KvStoreShape {
  readonly headCount: number;
  readonly headCountKv: number;
  readonly headDim: number;
  /** Most cached rows one attention call reads (the session's context size). */
  readonly maxPositions: number;
  /** Most floats the store will ever be asked to hold (`reserve`). */
  readonly maxFloats: number;
}

/**
 * A growable float store in its own WebAssembly memory (freed with the store: no bump allocator
 * to leak into), with a query row, an output row and the attention kernel. Views are over memory
 * that grows: take them again after `reserve` (each getter returns a current view).
 */
export interface KvStore {
  /** Floats [0, reserved) of the store. */
  data(): Float32Array;
  /** headCount * headDim floats: the query row `attend` reads. */
  query(): Float32Array;
  /** headCount * headDim floats: where `attend` writes. */
  output(): Float32Array;
  /** Makes `floats` floats usable (contents kept; never shrinks). */
  reserve(floats: number): void;
  /**
   * Attention of the query row over cached rows [first, end): key row t of KV head g at data
   * float keyOffset + t * rowStride + g * headDim (values likewise from valueOffset). Query head h
   * reads KV head h / (headCount / headCountKv); scores are float32(K.q) * scale, soft-capped
   * (cap * tanh(s / cap)) when softcap is set, then a max-subtracted softmax; output[h] is the
   * weighted sum of value rows.
   */
  attend(keyOffset: number, valueOffset: number, rowStride: number, first: number, end: number, scale: number, softcap: number | undefined): void;
}

/** The reference backend: `prepare` is the identity, products run in the tensors package's TS code. */
export class ReferenceBackend implements KernelBackend {
  readonly name = 'reference' as const;
  readonly threads = 1;

  prepare(tensor: IWeightTensor): IWeightTensor {
    return tensor;
  }

  allocate(): undefined {
    return undefined;
  }

  async dispose(): Promise<void> {}
}
