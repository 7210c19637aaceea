import { GgmlType, type GgmlTypeId } from '@smallmind/quantization-tensors';

/**
 * The weight formats with a WebAssembly kernel, and how their activation rows are laid out in
 * kernel memory (see assembly/activations.ts). `activation` is the ggml type id the kernel's
 * quantizer produces (the format's vec_dot type).
 */
export interface KernelFormat {
  readonly type: GgmlTypeId;
  /** Suffix of the exported kernels: mv_<name>, mm_<name>. */
  readonly exportName: string;
  /** Weights per block (1 for float formats). */
  readonly blockSize: number;
  readonly activation: GgmlTypeId;
}

const table: readonly KernelFormat[] = [
  { type: GgmlType.F32, exportName: 'f32', blockSize: 1, activation: GgmlType.F32 },
  { type: GgmlType.F16, exportName: 'f16', blockSize: 1, activation: GgmlType.F16 },
  { type: GgmlType.BF16, exportName: 'bf16', blockSize: 1, activation: GgmlType.BF16 },
  { type: GgmlType.Q4_0, exportName: 'q4_0', blockSize: 32, activation: GgmlType.Q8_0 },
  { type: GgmlType.Q4_1, exportName: 'q4_1', blockSize: 32, activation: GgmlType.Q8_1 },
  { type: GgmlType.Q5_0, exportName: 'q5_0', blockSize: 32, activation: GgmlType.Q8_0 },
  { type: GgmlType.Q5_1, exportName: 'q5_1', blockSize: 32, activation: GgmlType.Q8_1 },
  { type: GgmlType.Q8_0, exportName: 'q8_0', blockSize: 32, activation: GgmlType.Q8_0 },
  { type: GgmlType.IQ4_NL, exportName: 'iq4_nl', blockSize: 32, activation: GgmlType.Q8_0 },
  { type: GgmlType.Q2_K, exportName: 'q2_k', blockSize: 256, activation: GgmlType.Q8_K },
  { type: GgmlType.Q3_K, exportName: 'q3_k', blockSize: 256, activation: GgmlType.Q8_K },
  { type: GgmlType.Q4_K, exportName: 'q4_k', blockSize: 256, activation: GgmlType.Q8_K },
  { type: GgmlType.Q5_K, exportName: 'q5_k', blockSize: 256, activation: GgmlType.Q8_K },
  { type: GgmlType.Q6_K, exportName: 'q6_k', blockSize: 256, activation: GgmlType.Q8_K },
  { type: GgmlType.IQ4_XS, exportName: 'iq4_xs', blockSize: 256, activation: GgmlType.Q8_K },
];

/** Every kernel format, in a fixed order: a format's index here is its kernel id across threads. */
export const KERNEL_FORMATS: readonly KernelFormat[] = table;

const byType = new Map(table.map((format, index) => [format.type, { format, index }]));

/** The kernel format of `type` and its kernel id, or undefined when no kernel exists. */
export function kernelFormat(type: GgmlTypeId): { format: KernelFormat; index: number } | undefined {
  return byType.get(type);
}

const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/** Bytes of one quantized activation row of `cols` values (16-byte aligned). */
export function activationRowBytes(activation: GgmlTypeId, cols: number): number {
  switch (activation) {
    // i16 quants, per-block data, then an i8 copy of the quants (see assembly/activations.ts).
    case GgmlType.Q8_0:
      return align16(cols * 3 + (cols / 32) * 8);
    case GgmlType.Q8_1:
      return align16(cols * 3 + (cols / 32) * 8);
    case GgmlType.Q8_K:
      return align16(cols * 3 + (cols / 256) * 4 + (cols / 16) * 2);
    default:
      return align16(cols * 4);
  }
}

/**
 * Bytes after `n` quantized Q8_0/Q8_1 activation rows for pack_rows4's four-row tables (the
 * relaxed-SIMD matMul of the 32-blocks reads d and sums from them): 32 bytes per block per group
 * of four rows, plus 16 for alignment; 0 for other activation types and for n = 1 (matVec).
 */
export function packedActivationBytes(activation: GgmlTypeId, n: number, cols: number): number {
  if (n < 2 || (activation !== GgmlType.Q8_0 && activation !== GgmlType.Q8_1)) return 0;
  return Math.ceil(n / 4) * (cols / 32) * 32 + 16;
}

/**
 * Bytes of the per-thread scratch that matMul decodes weight rows into: one decoded row (which also
 * holds the relaxed matMul's two rows of u8 levels and scales), plus their mins for Q4_1/Q5_1.
 */
export function decodedRowBytes(format: KernelFormat, cols: number): number {
  if (format.blockSize === 1) return align16(cols * 4);
  if (format.type === GgmlType.Q4_1 || format.type === GgmlType.Q5_1) return align16(cols * 2 + (cols / 32) * 16);
  if (format.blockSize === 32) return align16(cols * 2 + (cols / 32) * 8);
  return align16(cols * 2 + (cols / 16) * 2 + (cols / 256) * 8);
}
