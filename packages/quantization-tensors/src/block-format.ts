import type { GgmlTypeId, GgmlTypeInfo } from './ggml-type.js';

/**
 * Everything one ggml block format knows about itself — like candle's GgmlType trait or one of
 * llama3.java's per-format classes. Each format lives in its own file under `formats/` with its
 * byte layout as a comment, and registers one `BlockFormat`.
 *
 * All offsets are in elements (floats) or bytes as named; `count` is a number of weights and
 * must be a multiple of `info.blockSize` (callers check; the registry's `dequantize`/`quantize`
 * throw typed errors for partial blocks).
 */
export interface BlockFormat {
  readonly info: GgmlTypeInfo;
  /**
   * The type llama.cpp quantizes activations to before a dot product with this weight format
   * (ggml's `vec_dot_type`): Q4_0/Q5_0/Q8_0/IQ4_NL -> Q8_0, Q4_1/Q5_1 -> Q8_1, k-quants and
   * IQ3/IQ4_XS -> Q8_K, F16 -> F16, BF16 -> BF16, F32 -> F32.
   */
  readonly vecDotType: GgmlTypeId;
  /** As ggml's `dequantize_row_*`: `count` weights from `src` at byte `srcOffset` into `dst` at `dstOffset`. */
  dequantize(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void;
  /** Reference quantizer, as ggml's `quantize_row_*_ref`; absent for formats we only read. */
  readonly quantize?: (src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number) => void;
  /**
   * Reference dot product, as ggml's `ggml_vec_dot_*`: `count` weights of this format at byte
   * `wOffset` of `w` times `count` activations already quantized to `vecDotType` at byte
   * `aOffset` of `a`.
   */
  readonly vecDot?: (count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number) => number;
}
