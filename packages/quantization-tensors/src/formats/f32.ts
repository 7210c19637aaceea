import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';

/*
 * F32: one little-endian IEEE-754 binary32 per weight (block size 1, 4 bytes). No scale, no
 * packing; "quantizing" is a copy. llama.cpp multiplies F32 weights with F32 activations
 * (vec_dot_type F32).
 */

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * `count` float32 values stored at byte `offset` of `bytes`: a view when the address is 4-byte
 * aligned on a little-endian host (the common case: GGUF aligns tensor data), else a copy.
 */
function float32s(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const address = bytes.byteOffset + offset;
  if (hostIsLittleEndian && address % 4 === 0) return new Float32Array(bytes.buffer, address, count);
  const view = new DataView(bytes.buffer, address, count * 4);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

function dequantizeF32(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  dst.set(float32s(src, srcOffset, count), dstOffset);
}

function quantizeF32(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  const values = src.subarray(srcOffset, srcOffset + count);
  if (hostIsLittleEndian) {
    dst.set(new Uint8Array(values.buffer, values.byteOffset, count * 4), dstOffset);
    return;
  }
  const view = new DataView(dst.buffer, dst.byteOffset + dstOffset, count * 4);
  for (let i = 0; i < count; i++) view.setFloat32(i * 4, values[i]!, true);
}

/** ggml_vec_dot_f32 (scalar path): float32 products, summed in float64, result as float32. */
function vecDotF32(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  const weights = float32s(w, wOffset, count);
  const activations = float32s(a, aOffset, count);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += Math.fround(weights[i]! * activations[i]!);
  return Math.fround(sum);
}

export const f32Format: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.F32),
  vecDotType: GgmlType.F32,
  dequantize: dequantizeF32,
  quantize: quantizeF32,
  vecDot: vecDotF32,
};

/** An F32 weight matrix; matVec multiplies with unquantized float32 activations. */
export class F32Tensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(f32Format, data, rows, cols, f32Format);
  }
}
