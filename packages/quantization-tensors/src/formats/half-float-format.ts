import type { BlockFormat } from '../block-format.js';
import { ggmlTypeInfo, type GgmlTypeId } from '../ggml-type.js';

type ReadHalf = (bytes: Uint8Array, offset: number) => number;
type WriteHalf = (bytes: Uint8Array, offset: number, value: number) => number;

/**
 * The `BlockFormat` of a 16-bit float type (F16 or BF16: block size 1, 2 bytes, little-endian),
 * given its reader and its rounding writer from `half.ts`, and its own dequantize loop (a loop per
 * type keeps the hot path monomorphic; a shared loop calling `read` was 2x slower). Both multiply against activations
 * converted to the same type (ggml's vec_dot_type is the type itself).
 */
export function halfFloatFormat(type: GgmlTypeId, read: ReadHalf, write: WriteHalf, dequantize: BlockFormat['dequantize']): BlockFormat {
  return {
    info: ggmlTypeInfo(type),
    vecDotType: type,
    dequantize,
    quantize(src, srcOffset, dst, dstOffset, count) {
      for (let i = 0; i < count; i++) write(dst, dstOffset + 2 * i, src[srcOffset + i]!);
    },
    /**
     * ggml_vec_dot_f16 / ggml_vec_dot_bf16 (scalar path): the product of two 16-bit floats is
     * exact in float32; products are summed in float64 and the result is returned as float32.
     */
    vecDot(count, w, wOffset, a, aOffset) {
      let sum = 0;
      for (let i = 0; i < count; i++) sum += read(w, wOffset + 2 * i) * read(a, aOffset + 2 * i);
      return Math.fround(sum);
    },
  };
}
