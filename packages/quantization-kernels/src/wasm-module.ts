/// <reference path="./webassembly.d.ts" />
import { RELAXED_SIMD_WASM_BASE64, SIMD128_WASM_BASE64 } from './generated/kernels-wasm.js';

/** Which compiled kernel module is running. */
export type WasmVariant = 'wasm-simd128' | 'wasm-relaxed-simd';

/** One kernel: rows [r0, r1) of Y = X * W^T (see assembly/index.ts for the argument meanings). */
export type KernelFunction = (
  w: number, rowBytes: number, r0: number, r1: number, a: number, aStride: number, n: number,
  y: number, yStride: number, cols: number, scratch: number,
) => void;

/** The exports of one kernel instance. */
export interface KernelExports {
  heap_base(): number;
  fill_f16_table(): void;
  convert_f16(src: number, dst: number, n: number): void;
  relaxed_simd(): number;
  quantize_activations(kind: number, x: number, xStride: number, out: number, outStride: number, cols: number, n: number): void;
  readonly [kernel: string]: unknown;
}

export interface CompiledKernels {
  readonly variant: WasmVariant;
  readonly module: WebAssembly.Module;
}

function bytesOf(base64: string): Uint8Array {
  return new Uint8Array(Buffer.from(base64, 'base64'));
}

/**
 * Compiles the best kernel module this engine validates: relaxed SIMD when allowed and supported
 * (Node 20 needs `--experimental-wasm-relaxed-simd`), else SIMD128; undefined when the engine has
 * neither SIMD128 nor shared WebAssembly memory.
 */
export async function compileKernels(allowRelaxed: boolean): Promise<CompiledKernels | undefined> {
  if (allowRelaxed) {
    const relaxed = bytesOf(RELAXED_SIMD_WASM_BASE64);
    if (WebAssembly.validate(relaxed)) return { variant: 'wasm-relaxed-simd', module: await WebAssembly.compile(relaxed) };
  }
  const simd = bytesOf(SIMD128_WASM_BASE64);
  if (typeof SharedArrayBuffer === 'undefined' || !WebAssembly.validate(simd)) return undefined;
  return { variant: 'wasm-simd128', module: await WebAssembly.compile(simd) };
}

/** Instantiates the kernels over `memory` (synchronous: used on the main thread and in workers). */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
}

/** Kernel names by kernel id: id 2 * formatIndex is mv_<fmt>, 2 * formatIndex + 1 is mm_<fmt>. */
export function kernelNames(exportNames: readonly string[]): string[] {
  return exportNames.flatMap((name) => [`mv_${name}`, `mm_${name}`]);
}
