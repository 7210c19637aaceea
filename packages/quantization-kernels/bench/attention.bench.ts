/**
 * attend_f32 over a TinyLlama-shaped KV cache (32 query heads, 4 KV heads of 64, 22 layers interleaved
 * position-major as the runtime lays them out): milliseconds per decoded token (one query row, every
 * layer) at several visible lengths, on one thread. `node --conditions=@smallmind/source --import tsx
 * bench/attention.bench.ts`; BENCH_STRICT=1 runs the SIMD128 build instead of the relaxed one.
 */
import { WasmKvStore } from '../src/wasm-backend.js';
import { compileKernels } from '../src/wasm-module.js';

const shape = { headCount: 32, headCountKv: 4, headDim: 64, maxPositions: 4096 };
const layers = 22;
const kvWidth = shape.headCountKv * shape.headDim;
const rowStride = 2 * layers * kvWidth;

const relaxed = process.env.BENCH_STRICT !== '1';
const compiled = await compileKernels(relaxed);
if (compiled === undefined) throw new Error('no WebAssembly SIMD here');
const store = new WasmKvStore(compiled.module, { ...shape, maxFloats: shape.maxPositions * rowStride });
store.reserve(shape.maxPositions * rowStride);
const data = store.data();
for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37);
store.query().set(Float32Array.from({ length: shape.headCount * shape.headDim }, (_, i) => Math.cos(i * 0.11)));

const attendAllLayers = (visible: number): void => {
  for (let l = 0; l < layers; l++) store.attend(l * 2 * kvWidth, l * 2 * kvWidth + kvWidth, rowStride, 0, visible, 0.125, undefined);
};
console.log(`attend_f32 (${relaxed ? 'relaxed' : 'simd128'} build), ${layers} layers x ${shape.headCount} heads of ${shape.headDim}, Node ${process.version}`);
for (const visible of [64, 256, 1024, 4096]) {
  attendAllLayers(visible);
  const reps = Math.max(3, Math.ceil(40_000 / visible));
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) attendAllLayers(visible);
  console.log(`  ${String(visible).padStart(4)} visible rows: ${((performance.now() - t0) / reps).toFixed(3)} ms per token`);
}
