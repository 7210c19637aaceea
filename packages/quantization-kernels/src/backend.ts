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
  /** Stops worker threads and releases kernel memory; prepared tensors then throw BACKEND_DISPOSED. */
  dispose(): Promise<void>;
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
