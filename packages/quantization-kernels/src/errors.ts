import { SmallMindError } from '@smallmind/quantization-tensors';

/** What went wrong, machine-readable. */
export type KernelErrorCode =
  | 'BAD_OPTIONS'
  | 'BAD_ARGUMENT'
  | 'BAD_TENSOR'
  | 'BACKEND_DISPOSED'
  | 'WASM_UNAVAILABLE'
  | 'OUT_OF_MEMORY'
  | 'WORKER_FAILED';

export interface KernelErrorDetails {
  /** Tensor type name, when the error concerns one tensor. */
  readonly typeName?: string;
  /** The argument or option at fault. */
  readonly field?: string;
}

/** Every error this package throws on purpose. */
export class KernelError extends SmallMindError<KernelErrorCode> {
  override readonly name = 'KernelError';
  readonly typeName: string | undefined;
  readonly field: string | undefined;

  constructor(code: KernelErrorCode, message: string, details: KernelErrorDetails = {}) {
    super(code, message);
    this.typeName = details.typeName;
    this.field = details.field;
  }
}
