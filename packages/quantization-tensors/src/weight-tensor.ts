import type { GgmlTypeId } from './ggml-type.js';

/**
 * A 2-D weight matrix kept in its file's block format. `cols` is ggml's ne[0] (the contiguous row
 * length), `rows` the product of the remaining dims. The runtime multiplies only through this
 * interface, so a faster implementation (the kernels package) can replace the reference one
 * without touching model code.
 */
export interface IWeightTensor {
  readonly type: GgmlTypeId;
  readonly rows: number;
  readonly cols: number;
  /** Bytes of block data backing the tensor (rows * bytes per row). */
  readonly byteLength: number;
  /** The raw block bytes, exactly as stored in the file (a view, never a copy). */
  readonly data: Uint8Array;
  /** Dequantize row `row` into `out[outOffset .. outOffset + cols)`. */
  dequantizeRow(row: number, out: Float32Array, outOffset?: number): void;
  /** Dequantize the whole tensor (rows * cols floats, row-major). */
  toFloat32(): Float32Array;
  /** y[r] = sum_c W[r][c] * x[c] for every row r; x.length >= cols, y.length >= rows. */
  matVec(x: Float32Array, y: Float32Array): void;
  /**
   * Y[i][r] = sum_c W[r][c] * X[i][c] for i < n: X is n rows of `cols` floats, Y n rows of `rows`.
   */
  matMul(x: Float32Array, n: number, y: Float32Array): void;
}
