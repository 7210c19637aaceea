/// <reference path="./webassembly.d.ts" />
import { blockFormat, ggmlTypeInfo } from '@smallmind/quantization-tensors';
import { KERNEL_FORMATS, activationRowBytes, decodedRowBytes, packedActivationBytes } from './kernel-formats.js';
import { instantiateKernels, memoryFor, type KernelExports, type KernelFunction } from './wasm-module.js';

/** One kernel instance and the memory it runs on. */
export interface KernelInstance {
  readonly exports: KernelExports;
  readonly memory: WebAssembly.Memory;
}

/** The outputs of every kernel on the probe inputs, by kernel name (mv_<fmt>, mm_<fmt>). */
export type ProbeOutputs = Map<string, Float32Array>;

const PROBE_ROWS = 8;
const PROBE_COLS = 512;
const PROBE_BATCH = 5;
/** Relative to sum |w * x|: both builds are within 1e-5 of the reference, a broken one is off by O(1). */
const PROBE_TOLERANCE = 1e-4;

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** Deterministic probe weight bytes for one format: below 0x40, so every fp16/bf16 scale is finite. */
function probeBytes(count: number, salt: number): Uint8Array {
  const bytes = new Uint8Array(count);
  for (let i = 0; i < count; i++) bytes[i] = (Math.imul(i + salt * 7919, 2654435761) >>> 24) & 0x3b;
  return bytes;
}

function probeActivations(): Float32Array {
  return new Float32Array(PROBE_COLS * PROBE_BATCH).map((_, i) => Math.sin(i * 0.37) * (1 + (i % 5)));
}

/** A fresh kernel instance on its own small memory (shared when the module's is; enough for the probes). */
export function probeInstance(module: WebAssembly.Module): KernelInstance {
  const memory = memoryFor(module, 16, 16);
  const exports = instantiateKernels(module, memory);
  exports.fill_f16_table();
  return { exports, memory };
}

/**
 * Runs matVec (one row) and matMul (PROBE_BATCH rows) of every format on deterministic probe blocks.
 * The same inputs give both builds' outputs, so a build the engine miscompiles shows up as a
 * difference (Node 20's V8 got one relaxed-SIMD instruction wrong, see assembly/common.ts).
 */
export function runProbes(instance: KernelInstance): ProbeOutputs {
  const { exports, memory } = instance;
  const outputs: ProbeOutputs = new Map();
  const x = probeActivations();
  for (const [index, format] of KERNEL_FORMATS.entries()) {
    const info = ggmlTypeInfo(format.type);
    const rowBytes = (PROBE_COLS / info.blockSize) * info.typeSize;
    const actBytes = activationRowBytes(format.activation, PROBE_COLS);
    const w = align64(exports.heap_base());
    const xPtr = align64(w + PROBE_ROWS * rowBytes + 16);
    const aPtr = align64(xPtr + x.byteLength);
    const yPtr = align64(aPtr + PROBE_BATCH * actBytes + packedActivationBytes(format.activation, PROBE_BATCH, PROBE_COLS));
    const scratch = align64(yPtr + PROBE_ROWS * PROBE_BATCH * 4);
    if (scratch + decodedRowBytes(format, PROBE_COLS) > memory.buffer.byteLength) throw new Error('probe memory too small');
    new Uint8Array(memory.buffer, w, PROBE_ROWS * rowBytes).set(probeBytes(PROBE_ROWS * rowBytes, index));
    new Float32Array(memory.buffer, xPtr, x.length).set(x);
    exports.quantize_activations(format.activation, xPtr, PROBE_COLS * 4, aPtr, actBytes, PROBE_COLS, PROBE_BATCH);
    exports.pack_rows4(format.activation, aPtr, actBytes, PROBE_BATCH, PROBE_COLS);
    for (const [name, n] of [[`mv_${format.exportName}`, 1], [`mm_${format.exportName}`, PROBE_BATCH]] as const) {
      const y = new Float32Array(memory.buffer, yPtr, PROBE_ROWS * n);
      y.fill(Number.NaN);
      (exports[name] as KernelFunction)(w, rowBytes, 0, PROBE_ROWS, aPtr, actBytes, n, yPtr, PROBE_ROWS * 4, PROBE_COLS, scratch);
      outputs.set(name, y.slice());
    }
  }
  return outputs;
}

/** sum_c |W[r][c] * x[c]| for each probe output of `format`, the scale a summation-order difference is measured against. */
function magnitudes(formatIndex: number, n: number): Float64Array {
  const format = KERNEL_FORMATS[formatIndex]!;
  const info = ggmlTypeInfo(format.type);
  const rowBytes = (PROBE_COLS / info.blockSize) * info.typeSize;
  const weights = new Float32Array(PROBE_ROWS * PROBE_COLS);
  blockFormat(format.type).dequantize(probeBytes(PROBE_ROWS * rowBytes, formatIndex), 0, weights, 0, weights.length);
  const x = probeActivations();
  const out = new Float64Array(PROBE_ROWS * n);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < PROBE_ROWS; r++) {
      let sum = 0;
      for (let c = 0; c < PROBE_COLS; c++) sum += Math.abs(weights[r * PROBE_COLS + c]! * x[i * PROBE_COLS + c]!);
      out[i * PROBE_ROWS + r] = sum;
    }
  }
  return out;
}

/**
 * Kernels whose `candidate` outputs differ from `baseline` by more than float summation order
 * (1e-4 of sum |w * x|), or are not finite where the baseline is; empty when the builds agree.
 */
export function differingKernels(candidate: ProbeOutputs, baseline: ProbeOutputs): string[] {
  const differing: string[] = [];
  for (const [index, format] of KERNEL_FORMATS.entries()) {
    for (const [name, n] of [[`mv_${format.exportName}`, 1], [`mm_${format.exportName}`, PROBE_BATCH]] as const) {
      const got = candidate.get(name);
      const want = baseline.get(name);
      const scale = magnitudes(index, n);
      const bad = got === undefined || want === undefined || want.some((v, i) => !(Math.abs(got[i]! - v) <= PROBE_TOLERANCE * scale[i]!));
      if (bad) differing.push(name);
    }
  }
  return differing;
}

/** The SIMD128 build's probe outputs, by module: one start-up may check two relaxed builds against it. */
const baselineProbes = new WeakMap<WebAssembly.Module, ProbeOutputs>();

/** The start-up check createBackend runs: relaxed vs SIMD128 build on the probe blocks of every format. */
export function verifyRelaxedBuild(relaxed: WebAssembly.Module, strict: WebAssembly.Module): string[] {
  let baseline = baselineProbes.get(strict);
  if (baseline === undefined) {
    baseline = runProbes(probeInstance(strict));
    baselineProbes.set(strict, baseline);
  }
  return differingKernels(runProbes(probeInstance(relaxed)), baseline);
}
