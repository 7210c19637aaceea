// Microbenchmark: matVec (and a 64-row matMul) on a 4096 x 4096 weight per format, the TS
// reference vs the WebAssembly kernels on 1 and 2 threads. Prints a Markdown table of the fastest
// run of each measurement (see fastestMs).
// Run: pnpm bench (from packages/quantization-kernels); BENCH_FORMATS=Q4_0,Q8_0 to narrow,
// BENCH_RELAXED=0 for the SIMD128 build (the default is relaxed SIMD where the engine has it).
import { availableParallelism, cpus, loadavg } from 'node:os';
import { GgmlType, createWeightTensor, ggmlTypeInfo, type IWeightTensor } from '@smallmind/quantization-tensors';
import { KERNEL_FORMATS, createBackend, type KernelBackend } from '../src/index.js';

const ROWS = 4096;
const COLS = 4096;
const BATCH = 64;
const only = process.env.BENCH_FORMATS?.split(',');
const skipReference = process.env.BENCH_SKIP_REFERENCE === '1';
const relaxedSimd = process.env.BENCH_RELAXED !== '0';

/** Deterministic weights: every byte below 0x40 keeps each fp16/bf16 scale and value finite. */
function weightBytes(type: number): Uint8Array {
  const info = ggmlTypeInfo(type);
  const bytes = new Uint8Array((ROWS * COLS / info.blockSize) * info.typeSize);
  let state = 0x9e3779b9;
  for (let i = 0; i < bytes.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = (state >>> 0) & 0x3b;
  }
  return bytes;
}

/**
 * Fastest of the runs made in at least `minMs` (and `minRuns` runs). The machine this runs on is
 * shared, so the fastest run estimates the uncontended speed; medians move with other jobs.
 */
function fastestMs(run: () => void, minRuns: number, minMs: number): number {
  let best = Infinity;
  let runs = 0;
  const start = performance.now();
  while (runs < minRuns || performance.now() - start < minMs) {
    const t0 = performance.now();
    run();
    best = Math.min(best, performance.now() - t0);
    runs++;
  }
  return best;
}

const x = new Float32Array(COLS * BATCH).map((_, i) => Math.sin(i * 0.37));
const y = new Float32Array(ROWS * BATCH);
const backends: Array<[string, KernelBackend]> = [];
for (const threads of [1, 2]) backends.push([`${threads}T`, await createBackend({ threads, relaxedSimd })]);
const variant = backends[0]![1].name;

console.log(`# matVec ${ROWS}x${COLS}: ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, Node ${process.version}, ${new Date().toISOString()}, ${variant}, load average at start ${loadavg()[0]!.toFixed(2)}`);
console.log('');
console.log('| format | MiB | TS ref ms | WASM 1T ms | GFLOP/s | GB/s | WASM 2T ms | GB/s | matMul n=64 1T GFLOP/s | 2T GFLOP/s |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const format of KERNEL_FORMATS) {
  const name = ggmlTypeInfo(format.type).name;
  if (only !== undefined && !only.includes(name)) continue;
  const data = format.type === GgmlType.F32 ? new Uint8Array(new Float32Array(ROWS * COLS).map((_, i) => Math.cos(i)).buffer) : weightBytes(format.type);
  const reference = createWeightTensor(format.type, data, [COLS, ROWS]);
  const refMs = skipReference ? NaN : fastestMs(() => reference.matVec(x, y), 3, 300);
  const cells = [name, (data.length / 2 ** 20).toFixed(1), refMs.toFixed(1)];
  const mm: string[] = [];
  for (const [, backend] of backends) {
    const fast: IWeightTensor = backend.prepare(reference);
    const ms = fastestMs(() => fast.matVec(x, y), 50, 1000);
    cells.push(ms.toFixed(3));
    if (backend.threads === 1) cells.push(((2 * ROWS * COLS) / ms / 1e6).toFixed(1));
    cells.push((data.length / ms / 1e6).toFixed(1));
    const mmMs = fastestMs(() => fast.matMul(x, BATCH, y), 5, 1000);
    mm.push(((2 * ROWS * COLS * BATCH) / mmMs / 1e6).toFixed(1));
  }
  console.log(`| ${[...cells, ...mm].join(' | ')} |`);
}
for (const [, backend] of backends) await backend.dispose();
console.log('');
console.log(`load average at end ${loadavg()[0]!.toFixed(2)} (1 min)`);
