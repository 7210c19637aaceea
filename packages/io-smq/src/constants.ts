/** Format constants and limits of SMQ version 1 (see SPEC.md). */

/** `\x89SMQ\r\n\x1a\n`: the high byte and the CR/LF/^Z catch 7-bit and line-ending mangling, as in PNG. */
export const SMQ_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x89, 0x53, 0x4d, 0x51, 0x0d, 0x0a, 0x1a, 0x0a);
export const SMQ_VERSION = 1;
/** Every tensor's data starts at a multiple of this; the file length is one too. */
export const SMQ_ALIGNMENT = 64;
export const SMQ_PREFIX_BYTES = 64;
/** Bytes of the header CRC that closes the header. */
export const SMQ_CHECKSUM_BYTES = 4;
export const SMQ_MIN_HEADER_BYTES = SMQ_PREFIX_BYTES + SMQ_CHECKSUM_BYTES;
/** Upper bound on the header, so that a damaged or hostile length never sizes a huge allocation. */
export const SMQ_MAX_HEADER_BYTES = 1 << 30;
export const SMQ_MAX_KEY_BYTES = 1024;
export const SMQ_MAX_TENSOR_NAME_BYTES = 256;
export const SMQ_MAX_DIMS = 4;
/** An array directly under a key has depth 1. */
export const SMQ_MAX_ARRAY_DEPTH = 8;
/** Tensor layout 0: ggml blocks exactly as in GGUF. Other values are reserved for repacked layouts. */
export const SMQ_LAYOUT_GGML = 0;

/** Field offsets inside the 64-byte prefix. */
export const PrefixField = {
  magic: 0,
  version: 8,
  flags: 12,
  headerLength: 16,
  dataOffset: 24,
  fileLength: 32,
  metadataCount: 40,
  provenanceCount: 44,
  tensorCount: 48,
  alignment: 52,
  reserved: 56,
  prefixCrc: 60,
} as const;

export function align64(n: number): number {
  return Math.ceil(n / SMQ_ALIGNMENT) * SMQ_ALIGNMENT;
}
