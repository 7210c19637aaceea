/// <reference path="./webassembly.d.ts" />
import { RELAXED_SIMD_WASM_BASE64, SIMD128_WASM_BASE64 } from './generated/kernels-wasm.js';
import { enableRelaxedSimdFlag } from './relaxed-flag.js';

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
  pack_rows4(kind: number, a: number, aStride: number, n: number, cols: number): void;
  readonly [kernel: string]: unknown;
}

export interface CompiledKernels {
  readonly variant: WasmVariant;
  readonly module: WebAssembly.Module;
  /** Kernels whose relaxed-SIMD build failed the start-up self-check (the SIMD128 build runs instead). */
  readonly relaxedRejected?: readonly string[];
}

/** Kernel names whose `relaxed` outputs differ from `strict` on probe inputs (empty: the builds agree). */
export type RelaxedVerifier = (relaxed: WebAssembly.Module, strict: WebAssembly.Module) => string[];

/** The module's bytes, embedded in the JS as base64 (no file to fetch or locate: works the same in any bundle). */
function bytesOf(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Whether the engine validates the relaxed-SIMD build: a browser says so by WebAssembly.validate alone;
 * on Node 20/21 the V8 flag is set first when needed (relaxed-flag.ts).
 */
export function relaxedSimdAvailable(bytes: Uint8Array = bytesOf(RELAXED_SIMD_WASM_BASE64)): boolean {
  if (WebAssembly.validate(bytes)) return true;
  return enableRelaxedSimdFlag() && WebAssembly.validate(bytes);
}

/**
 * Compiles the best kernel module this engine runs correctly: relaxed SIMD when allowed, supported
 * (see relaxedSimdAvailable) and, when `verify` is given, agreeing with the SIMD128 build on probe
 * inputs; else SIMD128. Undefined when the engine has neither SIMD128 nor shared WebAssembly memory.
 */
export async function compileKernels(allowRelaxed: boolean, verify?: RelaxedVerifier): Promise<CompiledKernels | undefined> {
  const simd = bytesOf(SIMD128_WASM_BASE64);
  if (typeof SharedArrayBuffer === 'undefined' || !WebAssembly.validate(simd)) return undefined;
  const strict = await WebAssembly.compile(simd);
  if (allowRelaxed) {
    const relaxedBytes = bytesOf(RELAXED_SIMD_WASM_BASE64);
    if (relaxedSimdAvailable(relaxedBytes)) {
      const relaxed = await WebAssembly.compile(relaxedBytes);
      const differing = verify?.(relaxed, strict) ?? [];
      if (differing.length === 0) return { variant: 'wasm-relaxed-simd', module: relaxed };
      return { variant: 'wasm-simd128', module: strict, relaxedRejected: differing };
    }
  }
  return { variant: 'wasm-simd128', module: strict };
}

/** Instantiates the kernels over `memory` (synchronous: used on the main thread and in workers). */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
}

/** Kernel names by kernel id: id 2 * formatIndex is mv_<fmt>, 2 * formatIndex + 1 is mm_<fmt>. */
export function kernelNames(exportNames: readonly string[]): string[] {
  return exportNames.flatMap((name) => [`mv_${name}`, `mm_${name}`]);
}
