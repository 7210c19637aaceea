import type { IWeightTensor } from '@smallmind/quantization-tensors';

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

  async dispose(): Promise<void> {}
}
