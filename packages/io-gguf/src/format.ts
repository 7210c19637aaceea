/** Constants of the GGUF format and the limits this library enforces on untrusted files. */

/** "GGUF" as the little-endian u32 at byte 0. */
export const GGUF_MAGIC = 0x46554747;
/** The version `GgufWriter` writes. The reader accepts 1, 2 and 3. */
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Metadata key that sets the data alignment (u32, power of two). */
export const GGUF_ALIGNMENT_KEY = 'general.alignment';
/** ggml tensors have at most 4 dimensions. */
export const GGUF_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME is 64 bytes including the terminating NUL. */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63;
/** Longest metadata key we accept; real keys are tens of bytes. */
export const GGUF_MAX_KEY_BYTES = 65_535;
/** Deepest array-of-array nesting we accept (llama.cpp accepts none; gguf-py writes at most 2). */
export const GGUF_MAX_ARRAY_NESTING = 8;
/**
 * Default cap on the header region (magic .. end of tensor infos). Real headers, tokenizers included,
 * are a few tens of MB; the cap keeps a hostile file from making the parser hold gigabytes.
 */
export const GGUF_DEFAULT_MAX_HEADER_BYTES = 256 * 1024 * 1024;

export function alignUp(value: number, alignment: number): number {
  const rest = value % alignment;
  return rest === 0 ? value : value + (alignment - rest);
}

export function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && value <= 0x8000_0000 && (value & (value - 1)) === 0;
}
