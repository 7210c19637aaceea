/** Test support: whole-buffer calls of a `BlockFormat`'s raw functions (no registry validation). */
import type { BlockFormat } from '../block-format.js';

/** All of `values` through the format's reference quantizer. */
export function quantizeWith(format: BlockFormat, values: Float32Array): Uint8Array {
  const bytes = new Uint8Array((values.length / format.info.blockSize) * format.info.typeSize);
  format.quantize!(values, 0, bytes, 0, values.length);
  return bytes;
}

/** `count` weights of `bytes` through the format's dequantizer. */
export function dequantizeWith(format: BlockFormat, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  format.dequantize(bytes, 0, out, 0, count);
  return out;
}
