// A/B microbenchmark: this checkout's kernels against those of an earlier git revision, in one
// process, runs interleaved (old, new, old, new, ...) and the fastest of each kept, so load from
// other jobs on a shared machine hits both sides alike. One thread, one 4096 x 4096 matrix per
// format, matVec (AB_N=1, default) or matMul of AB_N rows; also prints the largest output difference.
//   node --conditions=@smallmind/source --import tsx bench/ab.bench.ts <git-rev>
//   AB_FORMATS=Q4_0,Q4_K AB_N=64 AB_RELAXED=0 (SIMD128 build) ... to narrow; AB_FUSED=1 takes the relaxed
//   build with the fused dot-add on each side that has one (not on Node 20: its V8 computes it wrong)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ggmlTypeInfo } from '@smallmind/quantization-tensors';
import * as current from '../src/generated/kernels-wasm.js';
import { KERNEL_FORMATS, activationRowBytes, packedActivationBytes } from '../src/kernel-formats.js';
import { relaxedSimdAvailable } from '../src/wasm-module.js';

const rev = process.argv[2];
if (rev === undefined) throw new Error('usage: ab.bench.ts <git-rev> (the kernels to compare against)');
const dir = mkdtempSync(join(tmpdir(), 'kernels-ab-'));
const oldFile = join(dir, 'old-kernels.mjs');
const oldSource = execFileSync('git', ['show', `${rev}:packages/quantization-kernels/src/generated/kernels-wasm.ts`], { encoding: 'utf8', maxBuffer: 1 << 26 });
writeFileSync(oldFile, oldSource); // plain `export const` strings: valid JavaScript as is
const old = (await import(pathToFileURL(oldFile).href)) as typeof current;
rmSync(dir, { recursive: true });

const relaxed = process.env.AB_RELAXED !== '0' && relaxedSimdAvailable();
const fused = relaxed && process.env.AB_FUSED === '1';
/** The build a side runs: an older revision may predate the fused dot-add build. */
const build = (side: Partial<typeof current>): string =>
  (relaxed ? (fused ? side.RELAXED_SIMD_FUSED_DOT_WASM_BASE64 : undefined) ?? side.RELAXED_SIMD_WASM_BASE64 : side.SIMD128_WASM_BASE64)!;
const ROWS = 4096;
const COLS = 4096;
const N = Number(process.env.AB_N ?? 1);
const formats = (process.env.AB_FORMATS ?? 'Q4_0,Q8_0,Q4_K,Q6_K').split(',');

type Exports = Record<string, (...args: number[]) => number>;

function setup(base64: string, type: number): { run: () => void; y: () => Float32Array } {
  const module = new WebAssembly.Module(new Uint8Array(Buffer.from(base64, 'base64')));
  const memory = new WebAssembly.Memory({ initial: 2048, maximum: 2048, shared: true });
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
  ex.fill_f16_table!();
  const format = KERNEL_FORMATS.find((k) => k.type === type)!;
  const info = ggmlTypeInfo(type);
  const rowBytes = (COLS / info.blockSize) * info.typeSize;
  const align = (v: number): number => Math.ceil(v / 64) * 64;
  const w = align(ex.heap_base!());
  const bytes = new Uint8Array(memory.buffer, w, ROWS * rowBytes);
  let state = 0x9e3779b9;
  for (let i = 0; i < bytes.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = (state >>> 0) & 0x3b; // finite fp16/bf16 scales
  }
  const xPtr = align(w + bytes.length + 16);
  const x = new Float32Array(memory.buffer, xPtr, COLS * N);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37);
  const act = activationRowBytes(format.activation, COLS);
  const aPtr = align(xPtr + x.byteLength);
  const yPtr = align(aPtr + act * N + packedActivationBytes(format.activation, N, COLS));
  const scratch = align(yPtr + ROWS * N * 4);
  ex.quantize_activations!(format.activation, xPtr, COLS * 4, aPtr, act, COLS, N);
  if (N > 1) ex.pack_rows4?.(format.activation, aPtr, act, N, COLS); // revisions before pack_rows4 lack it
  const kernel = ex[(N === 1 ? 'mv_' : 'mm_') + format.exportName]!;
  return {
    run: () => void kernel(w, rowBytes, 0, ROWS, aPtr, act, N, yPtr, ROWS * 4, COLS, scratch),
    y: () => new Float32Array(memory.buffer, yPtr, ROWS * N).slice(),
  };
}

console.log(`# A/B ${rev} -> working tree, ${relaxed ? 'relaxed SIMD' : 'SIMD128'}, ${ROWS}x${COLS}, n=${N}, 1 thread, Node ${process.version}`);
for (const name of formats) {
  const format = KERNEL_FORMATS.find((k) => ggmlTypeInfo(k.type).name === name);
  if (format === undefined) throw new Error(`no kernel format ${name}`);
  const a = setup(build(old), format.type);
  const b = setup(build(current), format.type);
  let bestA = Infinity;
  let bestB = Infinity;
  for (let i = 0; i < (N === 1 ? 300 : 8); i++) {
    let t = performance.now();
    a.run();
    bestA = Math.min(bestA, performance.now() - t);
    t = performance.now();
    b.run();
    bestB = Math.min(bestB, performance.now() - t);
  }
  const ya = a.y();
  const yb = b.y();
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ya.length; i++) {
    diff = Math.max(diff, Math.abs(ya[i]! - yb[i]!));
    scale = Math.max(scale, Math.abs(ya[i]!));
  }
  console.log(`${name}: ${rev} ${bestA.toFixed(3)} ms, now ${bestB.toFixed(3)} ms, ${(bestA / bestB).toFixed(2)}x; max |diff| ${diff.toExponential(2)} (max |y| ${scale.toExponential(2)})`);
}
