import { describe, expect, it } from 'vitest';
import { applyRopeNormal, argmax, rmsNormRow, ropeAngles, swiGluInPlace } from './math.js';

describe('rmsNormRow', () => {
  it('scales a row to unit RMS and applies the weight', () => {
    const x = Float32Array.of(1, -2, 3, 4, 0.5);
    const weight = Float32Array.of(1, 2, 0.5, -1, 3);
    const out = new Float32Array(8);
    rmsNormRow(x, 0, weight, 1e-5, out, 2);
    const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + 1e-5);
    for (let i = 0; i < x.length; i++) expect(out[2 + i]).toBeCloseTo((x[i]! / rms) * weight[i]!, 6);
    expect(out[0]).toBe(0);
  });
});

describe('RoPE (normal mode)', () => {
  it('rotates adjacent pairs by position * base^(-2j/d), leaving the unrotated tail alone', () => {
    const headDim = 8;
    const ropeDims = 6;
    const position = 37;
    const cos = new Float32Array(ropeDims / 2);
    const sin = new Float32Array(ropeDims / 2);
    ropeAngles(position, ropeDims, 10000, cos, sin);
    const x = Float32Array.from({ length: 2 * headDim }, (_, i) => Math.sin(i + 1));
    const original = x.slice();
    applyRopeNormal(x, 0, 2, headDim, ropeDims, cos, sin);
    for (let h = 0; h < 2; h++) {
      for (let j = 0; j < ropeDims / 2; j++) {
        const angle = position * Math.pow(10000, (-2 * j) / ropeDims);
        const a = original[h * headDim + 2 * j]!;
        const b = original[h * headDim + 2 * j + 1]!;
        expect(x[h * headDim + 2 * j]).toBeCloseTo(a * Math.cos(angle) - b * Math.sin(angle), 5);
        expect(x[h * headDim + 2 * j + 1]).toBeCloseTo(a * Math.sin(angle) + b * Math.cos(angle), 5);
      }
      for (let i = ropeDims; i < headDim; i++) expect(x[h * headDim + i]).toBe(original[h * headDim + i]);
    }
  });

  it('is the identity at position 0', () => {
    const cos = new Float32Array(2);
    const sin = new Float32Array(2);
    ropeAngles(0, 4, 10000, cos, sin);
    const x = Float32Array.of(1, 2, 3, 4);
    applyRopeNormal(x, 0, 1, 4, 4, cos, sin);
    expect([...x]).toEqual([1, 2, 3, 4]);
  });
});

describe('swiGluInPlace', () => {
  it('computes silu(gate) * up', () => {
    const gate = Float32Array.of(-3, 0, 0.5, 4);
    const up = Float32Array.of(2, 5, -1, 0.25);
    const expected = [...gate].map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
    swiGluInPlace(gate, up, 4);
    expected.forEach((v, i) => expect(gate[i]).toBeCloseTo(v, 6));
  });
});

describe('argmax', () => {
  it('breaks ties toward the lowest index and ignores NaN', () => {
    expect(argmax(Float32Array.of(1, 5, 5, 2))).toBe(1);
    expect(argmax(Float32Array.of(Number.NaN, -1, -1))).toBe(1);
    expect(argmax(Float32Array.of(-Infinity, -Infinity))).toBe(0);
  });
});
