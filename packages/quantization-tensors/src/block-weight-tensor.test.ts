import { describe, expect, it } from 'vitest';
import { BlockWeightTensor } from './block-weight-tensor.js';
import { UnsupportedGgmlTypeError, WeightTensorError, type WeightTensorErrorCode } from './errors.js';
import { blockFormat, createWeightTensor, dequantize, quantize, supportedGgmlTypes } from './format-registry.js';
import { BF16Tensor } from './formats/bf16.js';
import { F16Tensor } from './formats/f16.js';
import { F32Tensor } from './formats/f32.js';
import { Q4_0Tensor, q4_0Format } from './formats/q4_0.js';
import { Q4_1Tensor } from './formats/q4_1.js';
import { Q5_0Tensor } from './formats/q5_0.js';
import { Q5_1Tensor } from './formats/q5_1.js';
import { Q8_0Tensor, q8_0Format } from './formats/q8_0.js';
import { q8_1Format } from './formats/q8_1.js';
import { GgmlType, UnknownGgmlTypeError, ggmlTypeInfo, type GgmlTypeId } from './ggml-type.js';
import { gaussianValues } from './test-support/random.js';

const ROWS = 6;
const COLS = 512; // a whole number of blocks for every format (32, 256)

/**
 * How far one activation may move when quantized to `type` (the error of llama.cpp's activation
 * rounding), from the definition of each activation format.
 */
function activationErrorBound(type: GgmlTypeId, x: Float32Array, c: number): number {
  const blockAbsMax = (size: number): number => Math.max(...x.subarray(c - (c % size), c - (c % size) + size).map(Math.abs));
  switch (type) {
    case GgmlType.F32:
      return 0;
    case GgmlType.F16:
      return Math.abs(x[c]!) * 2 ** -11;
    case GgmlType.BF16:
      return Math.abs(x[c]!) * 2 ** -8;
    case GgmlType.Q8_0:
    case GgmlType.Q8_1:
      return (blockAbsMax(32) / 127) * (0.5 + 127 * 2 ** -11); // half a step + fp16 rounding of d
    case GgmlType.Q8_K:
      return (blockAbsMax(256) / 127) * 0.5 * (1 + 1e-5); // d is stored as float32
    default:
      throw new Error(`no activation bound for type ${type}`);
  }
}

function weightTensor(type: GgmlTypeId, seed: number, rows = ROWS, cols = COLS): { tensor: ReturnType<typeof createWeightTensor>; weights: Float32Array } {
  const data = quantize(type, gaussianValues(rows * cols, seed, 0.5));
  return { tensor: createWeightTensor(type, data, [cols, rows]), weights: dequantize(type, data, rows * cols) };
}

const quantizableTypes = supportedGgmlTypes().filter((info) => blockFormat(info.id).quantize !== undefined);

describe.each(quantizableTypes.map((info) => [info.name, info.id] as const))('%s tensor', (_name, type) => {
  it('matVec is within the float64 dequantize-then-dot bound', () => {
    const { tensor, weights } = weightTensor(type, 100 + type);
    const x = gaussianValues(COLS, 200 + type, 2);
    const y = new Float32Array(ROWS);
    tensor.matVec(x, y);
    const format = blockFormat(type);
    const quantizedDot = format.vecDot !== undefined;
    const activationType = format.vecDotType;
    for (let r = 0; r < ROWS; r++) {
      const row = weights.subarray(r * COLS, (r + 1) * COLS);
      let exact = 0;
      let magnitude = 0;
      let activationError = 0;
      for (let c = 0; c < COLS; c++) {
        exact += row[c]! * x[c]!;
        magnitude += Math.abs(row[c]! * x[c]!);
        if (quantizedDot) activationError += Math.abs(row[c]!) * activationErrorBound(activationType, x, c);
      }
      // Q4_1/Q5_1 add m_w * s_a per block with s_a = fp16(d_a * sum q_a); |m_w| <= max |w| in the block.
      let storedSumError = 0;
      if (quantizedDot && activationType === GgmlType.Q8_1) {
        for (let b = 0; b < COLS / 32; b++) {
          const wMax = Math.max(...row.subarray(32 * b, 32 * b + 32).map(Math.abs));
          const xSum = x.subarray(32 * b, 32 * b + 32).reduce((s, v) => s + Math.abs(v), 0);
          storedSumError += wMax * xSum * 1.01 * 2 ** -11;
        }
      }
      const blocks = COLS / format.info.blockSize;
      const accumulation = quantizedDot ? (Math.min(blocks, COLS) + 16) * 2 ** -24 * magnitude * 1.1 : 2 ** -24 * Math.abs(exact) + 1e-12;
      const bound = activationError * 1.01 + storedSumError + accumulation;
      const error = Math.abs(y[r]! - exact);
      if (error > bound) throw new Error(`row ${r}: matVec ${y[r]} vs float64 ${exact}: error ${error} > bound ${bound}`);
      // The bound is tight enough to catch a wrong scale or sign: it is far below the value itself.
      expect(bound).toBeLessThan(0.1 * magnitude);
    }
  });

  it('matMul equals matVec row by row', () => {
    const { tensor } = weightTensor(type, 300 + type);
    const n = 3;
    const x = gaussianValues(n * COLS, 400 + type);
    const y = new Float32Array(n * ROWS);
    tensor.matMul(x, n, y);
    for (let i = 0; i < n; i++) {
      const yi = new Float32Array(ROWS);
      tensor.matVec(x.subarray(i * COLS, (i + 1) * COLS), yi);
      expect(Array.from(y.subarray(i * ROWS, (i + 1) * ROWS))).toEqual(Array.from(yi));
    }
  });

  it('dequantizeRow and toFloat32 agree with the registry dequantize, on a view of the data', () => {
    const data = quantize(type, gaussianValues(ROWS * COLS, 500 + type));
    const tensor = createWeightTensor(type, data, [COLS, 2, ROWS / 2]);
    expect(tensor.rows).toBe(ROWS);
    expect(tensor.cols).toBe(COLS);
    expect(tensor.type).toBe(type);
    expect(tensor.byteLength).toBe(data.length);
    expect(tensor.data).toBe(data);
    const all = dequantize(type, data, ROWS * COLS);
    expect(Array.from(tensor.toFloat32())).toEqual(Array.from(all));
    const out = new Float32Array(COLS + 1);
    tensor.dequantizeRow(ROWS - 1, out, 1);
    expect(Array.from(out.subarray(1))).toEqual(Array.from(all.subarray((ROWS - 1) * COLS)));
  });
});

describe('createWeightTensor', () => {
  it('returns the named class of each legacy/float type', () => {
    const classes: Array<[GgmlTypeId, new (...args: never[]) => unknown]> = [
      [GgmlType.F32, F32Tensor],
      [GgmlType.F16, F16Tensor],
      [GgmlType.BF16, BF16Tensor],
      [GgmlType.Q4_0, Q4_0Tensor],
      [GgmlType.Q4_1, Q4_1Tensor],
      [GgmlType.Q5_0, Q5_0Tensor],
      [GgmlType.Q5_1, Q5_1Tensor],
      [GgmlType.Q8_0, Q8_0Tensor],
    ];
    for (const [type, TensorClass] of classes) {
      const tensor = createWeightTensor(type, quantize(type, new Float32Array(64)), [64]);
      expect(tensor).toBeInstanceOf(TensorClass);
      expect(tensor).toBeInstanceOf(BlockWeightTensor);
      expect((tensor as BlockWeightTensor).usesQuantizedDot).toBe(true);
    }
    // Q8_1 has no class of its own and no dot product: a plain BlockWeightTensor multiplying in float.
    const q8_1 = createWeightTensor(GgmlType.Q8_1, quantize(GgmlType.Q8_1, new Float32Array(32)), [32, 1]) as BlockWeightTensor;
    expect(q8_1.constructor).toBe(BlockWeightTensor);
    expect(q8_1.usesQuantizedDot).toBe(false);
  });

  it('sees changes to the underlying bytes (no copy)', () => {
    const data = quantize(GgmlType.Q8_0, new Float32Array(32).fill(1));
    const tensor = createWeightTensor(GgmlType.Q8_0, data, [32, 1]);
    const before = tensor.toFloat32()[5];
    data[2 + 5] = 0; // quant of element 5
    expect(before).not.toBe(0);
    expect(tensor.toFloat32()[5]).toBe(0);
  });

  it('refuses unsupported and unknown types', () => {
    expect(() => createWeightTensor(GgmlType.I32, new Uint8Array(4), [1])).toThrow(UnsupportedGgmlTypeError);
    expect(() => createWeightTensor(77, new Uint8Array(4), [1])).toThrow(UnknownGgmlTypeError);
  });
});

function expectTensorError(code: WeightTensorErrorCode, action: () => unknown): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(WeightTensorError);
  expect((caught as WeightTensorError).code).toBe(code);
}

describe('WeightTensorError', () => {
  const q4Data = quantize(GgmlType.Q4_0, new Float32Array(64));

  it('BAD_SHAPE for empty, over-long, zero, negative, fractional and overflowing shapes', () => {
    for (const shape of [[], [32, 1, 1, 1, 1], [0, 2], [32, -1], [32.5], [32, 2 ** 40, 2 ** 20]]) {
      expectTensorError('BAD_SHAPE', () => createWeightTensor(GgmlType.Q4_0, q4Data, shape));
    }
    expectTensorError('BAD_SHAPE', () => new BlockWeightTensor(q4_0Format, q4Data, 0, 32));
    expectTensorError('BAD_SHAPE', () => createWeightTensor(GgmlType.Q4_0, q4Data, [32, 2]).matMul(new Float32Array(64), -1, new Float32Array(4)));
  });

  it('ROW_NOT_WHOLE_BLOCKS names the row length and block size', () => {
    let message = '';
    try {
      createWeightTensor(GgmlType.Q4_0, q4Data, [48, 1]);
    } catch (error) {
      expect((error as WeightTensorError).code).toBe('ROW_NOT_WHOLE_BLOCKS');
      message = (error as Error).message;
    }
    expect(message).toContain('48');
    expect(message).toContain('32');
  });

  it('DATA_LENGTH_MISMATCH when the bytes do not fit the shape', () => {
    expectTensorError('DATA_LENGTH_MISMATCH', () => createWeightTensor(GgmlType.Q4_0, q4Data, [32, 3]));
    expectTensorError('DATA_LENGTH_MISMATCH', () => createWeightTensor(GgmlType.Q4_0, q4Data.subarray(1), [32, 2]));
  });

  it('ROW_OUT_OF_RANGE and BUFFER_TOO_SHORT on calls', () => {
    const tensor = createWeightTensor(GgmlType.Q4_0, q4Data, [32, 2]);
    expectTensorError('ROW_OUT_OF_RANGE', () => tensor.dequantizeRow(2, new Float32Array(32)));
    expectTensorError('ROW_OUT_OF_RANGE', () => tensor.dequantizeRow(-1, new Float32Array(32)));
    expectTensorError('ROW_OUT_OF_RANGE', () => tensor.dequantizeRow(0.5, new Float32Array(32)));
    expectTensorError('BUFFER_TOO_SHORT', () => tensor.dequantizeRow(0, new Float32Array(32), 1));
    expectTensorError('BUFFER_TOO_SHORT', () => tensor.matVec(new Float32Array(31), new Float32Array(2)));
    expectTensorError('BUFFER_TOO_SHORT', () => tensor.matVec(new Float32Array(32), new Float32Array(1)));
    expectTensorError('BUFFER_TOO_SHORT', () => tensor.matMul(new Float32Array(64), 3, new Float32Array(6)));
  });

  it('ACTIVATION_FORMAT_MISMATCH when the partner is not the vecDotType', () => {
    expectTensorError('ACTIVATION_FORMAT_MISMATCH', () => new BlockWeightTensor(q4_0Format, q4Data, 2, 32, q8_1Format));
    expect(() => new BlockWeightTensor(q4_0Format, q4Data, 2, 32, q8_0Format)).not.toThrow();
  });
});

describe('float fallback (no activation format)', () => {
  it('multiplies dequantized rows with the unquantized activations, float64 sums', () => {
    const values = gaussianValues(4 * 64, 7);
    const data = quantize(GgmlType.Q4_0, values);
    const tensor = new BlockWeightTensor(q4_0Format, data, 4, 64);
    expect(tensor.usesQuantizedDot).toBe(false);
    const x = gaussianValues(64, 8);
    const y = new Float32Array(4);
    tensor.matVec(x, y);
    const weights = dequantize(GgmlType.Q4_0, data, 256);
    for (let r = 0; r < 4; r++) {
      let exact = 0;
      for (let c = 0; c < 64; c++) exact += weights[r * 64 + c]! * x[c]!;
      expect(y[r]).toBe(Math.fround(exact));
    }
    // The quantized path (Q8_0 activations) gives a different, llama.cpp-like answer.
    const reference = new Float32Array(4);
    createWeightTensor(GgmlType.Q4_0, data, [64, 4]).matVec(x, reference);
    expect(Array.from(reference)).not.toEqual(Array.from(y));
    expect(ggmlTypeInfo(q4_0Format.vecDotType).name).toBe('Q8_0');
  });
});
