import type { BlockFormat } from './block-format.js';
import { WeightTensorError } from './errors.js';
import type { GgmlTypeId } from './ggml-type.js';
import type { IWeightTensor } from './weight-tensor.js';

/**
 * Rows and columns of a ggml tensor shape (`ne` order: ne[0] is the contiguous row length, the
 * other dims multiply into rows). Throws `WeightTensorError('BAD_SHAPE')` for an empty shape, more
 * than 4 dims, a dim that is not a positive safe integer, or an element count past 2^53.
 */
export function shapeToRowsCols(shape: readonly number[]): { rows: number; cols: number } {
  if (shape.length < 1 || shape.length > 4) {
    throw new WeightTensorError('BAD_SHAPE', `shape [${shape.join(', ')}] must have 1 to 4 dims`);
  }
  for (const [dim, size] of shape.entries()) {
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new WeightTensorError('BAD_SHAPE', `shape [${shape.join(', ')}]: ne[${dim}] = ${size} is not a positive integer`);
    }
  }
  const cols = shape[0]!;
  const rows = shape.slice(1).reduce((product, size) => product * size, 1);
  if (!Number.isSafeInteger(rows * cols)) {
    throw new WeightTensorError('BAD_SHAPE', `shape [${shape.join(', ')}] has more elements than 2^53`);
  }
  return { rows, cols };
}

/**
 * A 2-D weight matrix over raw ggml block bytes (a view, never a copy), for any `BlockFormat`.
 *
 * `matVec`/`matMul` are the REFERENCE products and follow llama.cpp's numerics: each activation row
 * is quantized once to the format's `vecDotType` with that type's reference quantizer (Q8_0, Q8_1,
 * Q8_K, F16, BF16, or F32 = unchanged), then every weight row is dotted with it by the format's
 * `vecDot` (integer sums per block times both scales). A format without `vecDot`, or constructed
 * without an activation format, falls back to dequantizing each row to float32 and a float64 dot
 * product with the unquantized activations.
 *
 * The named subclasses (Q4_0Tensor, F16Tensor, ...) only bind the format and its activation partner.
 */
export class BlockWeightTensor implements IWeightTensor {
  readonly type: GgmlTypeId;
  readonly rows: number;
  readonly cols: number;
  readonly byteLength: number;
  readonly data: Uint8Array;
  /** Bytes of one row: cols / blockSize * typeSize. */
  readonly rowByteLength: number;

  constructor(
    readonly format: BlockFormat,
    data: Uint8Array,
    rows: number,
    cols: number,
    /** The format named by `format.vecDotType`; omit to multiply in float (see the class comment). */
    readonly activationFormat?: BlockFormat,
  ) {
    const { name, blockSize, typeSize } = format.info;
    const where = `${name} tensor [${cols} x ${rows}]`;
    if (!Number.isSafeInteger(rows) || rows < 1 || !Number.isSafeInteger(cols) || cols < 1) {
      throw new WeightTensorError('BAD_SHAPE', `${where}: rows and cols must be positive integers`);
    }
    if (cols % blockSize !== 0) {
      throw new WeightTensorError('ROW_NOT_WHOLE_BLOCKS', `${where}: row length ${cols} is not a multiple of the block size ${blockSize}`);
    }
    if (activationFormat !== undefined) {
      const partner = activationFormat.info;
      if (partner.id !== format.vecDotType || cols % partner.blockSize !== 0) {
        throw new WeightTensorError(
          'ACTIVATION_FORMAT_MISMATCH',
          `${where}: activation format ${partner.name} is not this format's vecDotType (id ${format.vecDotType}) or does not tile a row`,
        );
      }
    }
    this.rowByteLength = (cols / blockSize) * typeSize;
    const expected = rows * this.rowByteLength;
    if (data.length !== expected) {
      throw new WeightTensorError('DATA_LENGTH_MISMATCH', `${where}: data is ${data.length} bytes, expected ${expected} (${rows} rows x ${this.rowByteLength} bytes)`);
    }
    this.type = format.info.id;
    this.rows = rows;
    this.cols = cols;
    this.data = data;
    this.byteLength = expected;
  }

  /** True when matVec/matMul quantize activations and use the format's integer dot product. */
  get usesQuantizedDot(): boolean {
    return this.format.vecDot !== undefined && this.activationFormat?.quantize !== undefined;
  }

  dequantizeRow(row: number, out: Float32Array, outOffset = 0): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.rows) {
      throw new WeightTensorError('ROW_OUT_OF_RANGE', `${this.describe()}: row ${row} is outside 0..${this.rows - 1}`);
    }
    this.requireLength('output', out.length, outOffset, this.cols);
    this.format.dequantize(this.data, row * this.rowByteLength, out, outOffset, this.cols);
  }

  toFloat32(): Float32Array {
    const out = new Float32Array(this.rows * this.cols);
    this.format.dequantize(this.data, 0, out, 0, this.rows * this.cols);
    return out;
  }

  matVec(x: Float32Array, y: Float32Array): void {
    this.matMul(x, 1, y);
  }

  matMul(x: Float32Array, n: number, y: Float32Array): void {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new WeightTensorError('BAD_SHAPE', `${this.describe()}: batch size ${n} is not a non-negative integer`);
    }
    this.requireLength('x', x.length, 0, n * this.cols);
    this.requireLength('y', y.length, 0, n * this.rows);
    const { vecDot } = this.format;
    const quantize = this.activationFormat?.quantize;
    if (vecDot !== undefined && quantize !== undefined) {
      const activationInfo = this.activationFormat!.info;
      const activation = new Uint8Array((this.cols / activationInfo.blockSize) * activationInfo.typeSize);
      for (let i = 0; i < n; i++) {
        quantize(x, i * this.cols, activation, 0, this.cols);
        for (let r = 0; r < this.rows; r++) {
          y[i * this.rows + r] = vecDot(this.cols, this.data, r * this.rowByteLength, activation, 0);
        }
      }
      return;
    }
    const weights = new Float32Array(this.cols);
    for (let r = 0; r < this.rows; r++) {
      this.format.dequantize(this.data, r * this.rowByteLength, weights, 0, this.cols);
      for (let i = 0; i < n; i++) {
        const xOffset = i * this.cols;
        let sum = 0;
        for (let c = 0; c < this.cols; c++) sum += weights[c]! * x[xOffset + c]!;
        y[i * this.rows + r] = sum;
      }
    }
  }

  private describe(): string {
    return `${this.format.info.name} tensor [${this.cols} x ${this.rows}]`;
  }

  private requireLength(what: string, length: number, offset: number, needed: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || length - offset < needed) {
      throw new WeightTensorError('BUFFER_TOO_SHORT', `${this.describe()}: ${what} has ${length} elements, needs ${needed} from offset ${offset}`);
    }
  }
}
