/// <reference path="./webassembly.d.ts" />
import { RELAXED_SIMD_FUSED_DOT_WASM_BASE64, RELAXED_SIMD_WASM_BASE64, SIMD128_WASM_BASE64 } from './generated/kernels-wasm.js';
import { KernelError } from './errors.js';
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
  swiglu_f32(gate: number, up: number, count: number): void;
  readonly [kernel: string]: unknown;
}

export interface CompiledKernels {
  readonly variant: WasmVariant;
  readonly module: WebAssembly.Module;
  /**
   * The module imports a shared memory (threads possible). False where shared memory is unavailable (a
   * browser page that is not cross-origin isolated has no SharedArrayBuffer): the same kernels over an
   * ordinary memory, on the calling thread only.
   */
  readonly sharedMemory: boolean;
  /** Kernels whose relaxed-SIMD build failed the start-up self-check (the SIMD128 build runs instead). */
  readonly relaxedRejected?: readonly string[];
  /**
   * The relaxed-SIMD build that runs uses the fused i8 dot-add (i32x4.relaxed_dot_i8x16_i7x16_add_s: one
   * vpdpbusd where V8 has AVX-VNNI). Only after the self-check passed: Node 20's V8 computes it wrong.
   */
  readonly fusedDot: boolean;
  /** Kernels whose fused dot-add build failed the self-check (the relaxed build without it runs instead). */
  readonly fusedDotRejected?: readonly string[];
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

/** Modules compiled from the unshared copy of the bytes: their memories must not be shared. */
const unsharedModules = new WeakSet<WebAssembly.Module>();

/** Whether this engine can create a shared WebAssembly memory (a browser page needs cross-origin isolation). */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

function readLeb(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  for (let i = at; i < bytes.length && i < at + 5; i++) {
    value += (bytes[i]! & 0x7f) * 2 ** shift;
    shift += 7;
    if ((bytes[i]! & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new KernelError('BAD_ARGUMENT', `malformed LEB128 at byte ${at} of the kernel module`);
}

/**
 * A copy of a module binary whose imported memory is not shared: the import section's memory limits flag
 * loses its shared bit (0x03 -> 0x01; same length, nothing else moves). Kernels use no atomics, so the module
 * validates and runs the same over an ordinary memory.
 */
export function unshareMemoryImport(binary: Uint8Array): Uint8Array {
  const bytes = binary.slice();
  let at = 8; // magic + version
  while (at < bytes.length) {
    const id = bytes[at]!;
    const size = readLeb(bytes, at + 1);
    const end = size.next + size.value;
    if (id === 2) {
      let p = size.next;
      const count = readLeb(bytes, p);
      p = count.next;
      for (let i = 0; i < count.value; i++) {
        for (let name = 0; name < 2; name++) {
          const length = readLeb(bytes, p);
          p = length.next + length.value;
        }
        const kind = bytes[p++]!;
        if (kind === 0) p = readLeb(bytes, p).next;
        else if (kind === 1 || kind === 2) {
          if (kind === 1) p++; // table: reftype, then limits
          const flags = bytes[p]!;
          if (kind === 2) bytes[p] = flags & ~0x02;
          p = readLeb(bytes, p + 1).next;
          if ((flags & 0x01) !== 0) p = readLeb(bytes, p).next;
        } else if (kind === 3) p += 2;
        else throw new KernelError('BAD_ARGUMENT', `unknown import kind ${kind} in the kernel module`);
      }
      return bytes;
    }
    at = end;
  }
  return bytes;
}

/** A memory the module can import: shared when the module's is (threads), ordinary otherwise. */
export function memoryFor(module: WebAssembly.Module, initial: number, maximum: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial, maximum, shared: !unsharedModules.has(module) });
}

/**
 * Compiles the best kernel module this engine runs correctly: relaxed SIMD when allowed, supported
 * (see relaxedSimdAvailable) and, when `verify` is given, agreeing with the SIMD128 build on probe
 * inputs; else SIMD128. With `verify`, the relaxed build with the fused dot-add is tried first (no
 * verifier: never, since an engine can get it wrong). Without shared memory the same builds run over
 * an ordinary memory (`sharedMemory` false). Undefined when the engine lacks SIMD128.
 */
export async function compileKernels(allowRelaxed: boolean, verify?: RelaxedVerifier): Promise<CompiledKernels | undefined> {
  const sharedMemory = sharedMemoryAvailable();
  const prepare = (bytes: Uint8Array): Uint8Array => (sharedMemory ? bytes : unshareMemoryImport(bytes));
  const compile = async (bytes: Uint8Array): Promise<WebAssembly.Module> => {
    const module = await WebAssembly.compile(bytes);
    if (!sharedMemory) unsharedModules.add(module);
    return module;
  };
  const simd = prepare(bytesOf(SIMD128_WASM_BASE64));
  if (!WebAssembly.validate(simd)) return undefined;
  const strict = await compile(simd);
  if (!allowRelaxed) return { variant: 'wasm-simd128', module: strict, sharedMemory, fusedDot: false };
  const relaxedBytes = prepare(bytesOf(RELAXED_SIMD_WASM_BASE64));
  if (!relaxedSimdAvailable(relaxedBytes)) return { variant: 'wasm-simd128', module: strict, sharedMemory, fusedDot: false };
  let fusedDotRejected: string[] | undefined;
  if (verify !== undefined) {
    const fusedBytes = prepare(bytesOf(RELAXED_SIMD_FUSED_DOT_WASM_BASE64));
    if (WebAssembly.validate(fusedBytes)) {
      const fused = await compile(fusedBytes);
      const differing = verify(fused, strict);
      if (differing.length === 0) return { variant: 'wasm-relaxed-simd', module: fused, sharedMemory, fusedDot: true };
      fusedDotRejected = differing;
    }
  }
  const rejected = fusedDotRejected === undefined ? {} : { fusedDotRejected };
  const relaxed = await compile(relaxedBytes);
  const differing = verify?.(relaxed, strict) ?? [];
  if (differing.length === 0) return { variant: 'wasm-relaxed-simd', module: relaxed, sharedMemory, fusedDot: false, ...rejected };
  return { variant: 'wasm-simd128', module: strict, relaxedRejected: differing, sharedMemory, fusedDot: false, ...rejected };
}

/** Instantiates the kernels over `memory` (synchronous: used on the main thread and in workers). */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
}

/** Kernel names by kernel id: id 2 * formatIndex is mv_<fmt>, 2 * formatIndex + 1 is mm_<fmt>. */
export function kernelNames(exportNames: readonly string[]): string[] {
  return exportNames.flatMap((name) => [`mv_${name}`, `mm_${name}`]);
}
