import { describe, expect, it } from 'vitest';
import {
  GgmlType,
  QuantizationError,
  SmallMindError,
  UnknownGgmlTypeError,
  UnsupportedGgmlTypeError,
  WeightTensorError,
  createWeightTensor,
  dequantize,
  ggmlTypeInfo,
  quantize,
} from './index.js';
import * as pkg from './index.js';

/** Runs `fn`, which must throw, and returns what it threw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}


/** The error classes `index.ts` exports; a new one must be added here (and extend SmallMindError). */
const EXPECTED = ['QuantizationError', 'SmallMindError', 'UnknownGgmlTypeError', 'UnsupportedGgmlTypeError', 'WeightTensorError'];

describe('SmallMindError, the base of every error', () => {
  it('is an Error with a readonly code, the subclass name, the message and an optional cause', () => {
    class ProbeError extends SmallMindError<'PROBE'> {
      override readonly name = 'ProbeError';
    }
    const cause = new Error('root cause');
    const error = new ProbeError('PROBE', 'what went wrong', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(SmallMindError);
    expect(error).toMatchObject({ name: 'ProbeError', code: 'PROBE', message: 'what went wrong', cause });
    expect(String(error)).toBe('ProbeError: what went wrong');
  });

  // Each error is produced by the real API (not constructed by hand), so a class that stops extending the
  // base, or loses its code, fails here.
  it.each([
    ['QuantizationError', QuantizationError, 'PARTIAL_BLOCK', () => quantize(GgmlType.Q4_0, new Float32Array(3))],
    ['UnknownGgmlTypeError', UnknownGgmlTypeError, 'UNKNOWN_TYPE', () => ggmlTypeInfo(4)],
    ['UnsupportedGgmlTypeError', UnsupportedGgmlTypeError, 'UNSUPPORTED_TYPE', () => dequantize(GgmlType.IQ2_XXS, new Uint8Array(66), 256)],
    ['WeightTensorError', WeightTensorError, 'BAD_SHAPE', () => createWeightTensor(GgmlType.F32, new Uint8Array(0), [])],
  ] as const)('%s is a SmallMindError with its string code', (name, Class, code, fn) => {
    const error = thrown(fn);
    expect(error).toBeInstanceOf(Class);
    expect(error).toBeInstanceOf(SmallMindError);
    expect(error).toMatchObject({ name, code });
    expect(typeof (error as SmallMindError).code).toBe('string');
  });

  it('covers every error class the package exports', () => {
    const errorClasses = Object.entries(pkg).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error);
    expect(errorClasses.map(([name]) => name).sort()).toEqual(EXPECTED.slice().sort());
    for (const [name, Class] of errorClasses) expect(Class === SmallMindError || (Class as { prototype: unknown }).prototype instanceof SmallMindError, name).toBe(true);
  });
});
