import { GgmlType, blockFormat, f32ToBf16, f32ToFp16, readFp16 } from '@smallmind/quantization-tensors';
import { afterAll, describe, expect, it } from 'vitest';
import { activationRowBytes } from './kernel-formats.js';
import { MemoryShard } from './memory-shard.js';
import { compileKernels } from './wasm-module.js';
import { randomFloats } from './testing/compare.js';

// The kernels' activation quantizers must produce exactly the reference quantizers' values
// (bit-identical quants and scales), so the integer dot products see the same numbers.

const COLS = 1024;
const compiled = await compileKernels(true);
const shards: MemoryShard[] = [];
afterAll(() => void (shards.length = 0));

/** The raw reference quantizer (no range checks: activations past fp16 range are still quantized). */
function quantize(kind: number, x: Float32Array): Uint8Array {
  const format = blockFormat(kind);
  const out = new Uint8Array((x.length / format.info.blockSize) * format.info.typeSize);
  format.quantize!(x, 0, out, 0, x.length);
  return out;
}

/** Activations with awkward values: exact .5 ties after scaling, zeros, a zero block, extremes. */
function awkwardActivations(): Float32Array {
  const x = randomFloats(COLS, 99).map((v, i) => (i % 3 === 0 ? v * 1e-3 : v * 40));
  // Block 0: amax 127 -> Q8_0 d = 1, so x = k + 0.5 is an exact tie (roundf rounds away from zero).
  for (let j = 0; j < 32; j++) x[j] = j === 0 ? 127 : ((j % 9) - 4) + 0.5;
  x.fill(0, 32, 64); // an all-zero block
  // Super-block 1 (256..511): max -127 -> Q8_K iscale = 1, so k + 0.5 ties round to even.
  for (let j = 256; j < 512; j++) x[j] = j === 300 ? -127 : ((j % 11) - 5) + 0.5;
  x[700] = 3e38;
  x[701] = -1e-40; // subnormal
  return x;
}

function quantizeInKernel(kind: number, x: Float32Array): { bytes: DataView; rowBytes: number } {
  if (compiled === undefined) throw new Error('no WebAssembly SIMD');
  const shard = new MemoryShard(shards.length, compiled.module, 4 << 20, 1 << 20);
  shards.push(shard);
  const xPtr = shard.arena;
  const out = xPtr + x.length * 4;
  new Float32Array(shard.buffer, xPtr, x.length).set(x);
  const rowBytes = activationRowBytes(kind, COLS);
  shard.exports.quantize_activations(kind, xPtr, COLS * 4, out, rowBytes, COLS, 1);
  return { bytes: new DataView(shard.buffer, out, rowBytes), rowBytes };
}

describe.skipIf(compiled === undefined)(`activation quantizers (${compiled?.variant})`, () => {
  const x = awkwardActivations();

  it.each([
    ['Q8_0', GgmlType.Q8_0, 34, 2],
    ['Q8_1', GgmlType.Q8_1, 36, 4],
  ] as const)('%s: same quants, d (and s) as the reference quantizer', (_name, kind, blockBytes, qsOffset) => {
    const reference = quantize(kind, x);
    const { bytes } = quantizeInKernel(kind, x);
    const blocks = COLS / 32;
    for (let b = 0; b < blocks; b++) {
      for (let j = 0; j < 32; j++) {
        const expected = (reference[b * blockBytes + qsOffset + j]! << 24) >> 24;
        expect(bytes.getInt16((b * 32 + j) * 2, true), `block ${b} element ${j}`).toBe(expected);
      }
      expect(bytes.getFloat32(COLS * 2 + b * 4, true), `d of block ${b}`).toBe(readFp16(reference, b * blockBytes));
      if (kind === GgmlType.Q8_1) expect(bytes.getFloat32(COLS * 2 + blocks * 4 + b * 4, true), `s of block ${b}`).toBe(readFp16(reference, b * blockBytes + 2));
    }
    // The tie block really exercised round-half-away-from-zero: 0.5 -> 1, -0.5 -> -1, 2.5 -> 3.
    expect(bytes.getInt16(4 * 2, true)).toBe(1);
    expect(bytes.getInt16(3 * 2, true)).toBe(-1);
    expect(bytes.getInt16(6 * 2, true)).toBe(3);
  });

  it('Q8_K: same quants, d and 16-element sums as the reference quantizer', () => {
    const reference = quantize(GgmlType.Q8_K, x);
    const view = new DataView(reference.buffer, reference.byteOffset, reference.length);
    const { bytes } = quantizeInKernel(GgmlType.Q8_K, x);
    const blocks = COLS / 256;
    for (let b = 0; b < blocks; b++) {
      // block_q8_K: d f32 | qs i8[256] | bsums i16[16]
      expect(bytes.getFloat32(COLS * 2 + b * 4, true), `d of block ${b}`).toBe(view.getFloat32(b * 292, true));
      for (let j = 0; j < 256; j++) {
        expect(bytes.getInt16((b * 256 + j) * 2, true), `block ${b} element ${j}`).toBe(view.getInt8(b * 292 + 4 + j));
      }
      for (let g = 0; g < 16; g++) {
        expect(bytes.getInt16(COLS * 2 + blocks * 4 + (b * 16 + g) * 2, true), `bsum ${g} of block ${b}`).toBe(view.getInt16(b * 292 + 260 + g * 2, true));
      }
    }
    // Ties in super-block 1 rounded half to even (nearest_int): 0.5 -> 0, 2.5 -> 2 (roundf: 1, 3).
    expect(bytes.getInt16(258 * 2, true)).toBe(0);
    expect(bytes.getInt16(260 * 2, true)).toBe(2);
  });

  it('the vector fp16 -> f32 conversion (F16 weights) is exact for all 65536 bit patterns', () => {
    const shard = new MemoryShard(shards.length, compiled!.module, 4 << 20, 1 << 20);
    shards.push(shard);
    const src = shard.arena;
    const dst = src + 65536 * 2;
    const halves = new Uint16Array(shard.buffer, src, 65536);
    for (let h = 0; h < 65536; h++) halves[h] = h;
    shard.exports.convert_f16(src, dst, 65536);
    const got = new Float32Array(shard.buffer, dst, 65536);
    const bytes = new Uint8Array(2);
    for (let h = 0; h < 65536; h++) {
      bytes[0] = h & 0xff;
      bytes[1] = h >> 8;
      const expected = readFp16(bytes, 0);
      if (Number.isNaN(expected)) expect(got[h], `0x${h.toString(16)}`).toBeNaN();
      else expect(Object.is(got[h], expected), `0x${h.toString(16)}: ${got[h]} vs ${expected}`).toBe(true);
    }
  });

  it.each([
    ['F16', GgmlType.F16, (v: number) => f32ToFp16(v)],
    ['BF16', GgmlType.BF16, (v: number) => f32ToBf16(v)],
  ] as const)('%s: values rounded exactly as the reference', (_name, kind, toBits) => {
    const finite = x.map((v) => (Math.abs(v) > 6e4 ? 6e4 : v));
    const reference = quantize(kind, finite);
    const { bytes } = quantizeInKernel(kind, finite);
    const decode = new (kind === GgmlType.F16 ? Float32Array : Float32Array)(COLS);
    for (let j = 0; j < COLS; j++) {
      const bits = reference[2 * j]! | (reference[2 * j + 1]! << 8);
      expect(bits, `element ${j}`).toBe(toBits(finite[j]!));
      decode[j] = bytes.getFloat32(j * 4, true);
      const kernelBits = kind === GgmlType.F16 ? f32ToFp16(decode[j]!) : f32ToBf16(decode[j]!);
      expect(kernelBits, `element ${j}`).toBe(bits);
    }
  });
});
