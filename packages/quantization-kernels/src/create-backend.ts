import { ReferenceBackend, type KernelBackend } from './backend.js';
import { KernelError } from './errors.js';
import { KERNEL_FORMATS } from './kernel-formats.js';
import type { KernelLogger } from './logger.js';
import { MAX_SHARD_BYTES } from './memory-shard.js';
import { hardwareThreads } from './parallelism.js';
import { ThreadPool } from './thread-pool.js';
import { WasmBackend } from './wasm-backend.js';
import { verifyRelaxedBuild } from './self-check.js';
import { compileKernels, kernelNames, type RelaxedVerifier } from './wasm-module.js';

export interface BackendOptions {
  /** Threads per product, the calling thread included (default: the machine's available parallelism, at most 8). */
  readonly threads?: number;
  /** 'wasm' (default) uses the WebAssembly kernels when the engine supports SIMD128; 'reference' never does. */
  readonly prefer?: 'wasm' | 'reference';
  /** Receives what was chosen and every fallback (default: silent). */
  readonly logger?: KernelLogger;
  /**
   * Use the relaxed-SIMD build when the engine supports it (default true; on Node 20 this sets V8's
   * --experimental-wasm-relaxed-simd flag) and it passes the start-up self-check against SIMD128.
   */
  readonly relaxedSimd?: boolean;
  /**
   * Largest size of one kernel memory (default and maximum 4 GiB, the wasm32 limit). Weights are
   * spread over as many memories as needed; a smaller value exercises that path in tests.
   */
  readonly shardBytes?: number;
  /** Scratch per memory for activations and outputs (default 32 MiB; big batches run in chunks). */
  readonly arenaBytes?: number;
  /** Polls of the shared counter before a waiting thread sleeps in Atomics.wait (default 20000, ~50 us). */
  readonly spinIterations?: number;
  /** Kernel calls per format at start-up so V8 optimizes them before real work (default 40). */
  readonly warmUpRounds?: number;
  /** Products with fewer multiply-adds than this run on the calling thread alone (default 32768). */
  readonly minParallelWork?: number;
}

const MiB = 1 << 20;

function checkInteger(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new KernelError('BAD_OPTIONS', `option ${field} = ${value} must be an integer in ${min}..${max}`, { field });
  }
  return value;
}

/**
 * Creates a matVec/matMul backend: WebAssembly SIMD kernels over shared memory with `threads`
 * threads, or the plain TypeScript reference when WebAssembly SIMD is missing or
 * `prefer: 'reference'` is asked for.
 */
export async function createBackend(options: BackendOptions = {}): Promise<KernelBackend> {
  return createBackendWith(options, verifyRelaxedBuild);
}

/** createBackend with the relaxed-SIMD self-check replaceable (tests force a failing check). */
export async function createBackendWith(options: BackendOptions, verifyRelaxed: RelaxedVerifier): Promise<KernelBackend> {
  const logger = options.logger ?? {};
  const threads = checkInteger('threads', options.threads ?? Math.min(8, hardwareThreads()), 1, 256);
  const shardBytes = checkInteger('shardBytes', options.shardBytes ?? MAX_SHARD_BYTES, 2 * MiB, MAX_SHARD_BYTES);
  if (shardBytes % 65536 !== 0) throw new KernelError('BAD_OPTIONS', `option shardBytes = ${shardBytes} must be a multiple of 65536`, { field: 'shardBytes' });
  const arenaBytes = checkInteger('arenaBytes', options.arenaBytes ?? Math.min(32 * MiB, shardBytes / 4), MiB, shardBytes / 2);
  const spinIterations = checkInteger('spinIterations', options.spinIterations ?? 20_000, 0, 1e9);
  const warmUpRounds = checkInteger('warmUpRounds', options.warmUpRounds ?? 40, 0, 1e6);
  const minParallelWork = checkInteger('minParallelWork', options.minParallelWork ?? 1 << 15, 0, Number.MAX_SAFE_INTEGER);
  const prefer = options.prefer ?? 'wasm';
  if (prefer !== 'wasm' && prefer !== 'reference') throw new KernelError('BAD_OPTIONS', `option prefer = ${String(prefer)} must be 'wasm' or 'reference'`, { field: 'prefer' });
  if (prefer === 'reference') {
    logger.info?.('kernels: reference TypeScript implementation (asked for)');
    return new ReferenceBackend();
  }
  const kernels = await compileKernels(options.relaxedSimd ?? true, verifyRelaxed);
  if (kernels === undefined) {
    logger.warn?.('kernels: this engine lacks WebAssembly SIMD128; using the reference TypeScript implementation');
    return new ReferenceBackend();
  }
  if (kernels.fusedDotRejected !== undefined) {
    // Expected on Node 20 (its V8 computes the fused form wrong): the relaxed build without it is as fast there.
    logger.debug?.(`kernels: the fused dot-add build disagrees with SIMD128 on this engine (${kernels.fusedDotRejected.join(', ')}); using the relaxed build without it`);
  }
  if (kernels.relaxedRejected !== undefined) {
    logger.warn?.(`kernels: the relaxed-SIMD build disagrees with SIMD128 on this engine (${kernels.relaxedRejected.join(', ')}); using SIMD128`);
  }
  let pool: ThreadPool | undefined;
  if (threads > 1 && !kernels.sharedMemory) {
    // A browser page without cross-origin isolation (COOP/COEP headers) has no SharedArrayBuffer.
    logger.warn?.(`kernels: no shared memory here (a page needs cross-origin isolation for threads); computing on the calling thread only, not ${threads} threads`);
  } else if (threads > 1) {
    try {
      pool = await ThreadPool.start(kernels.module, threads, spinIterations, kernelNames(KERNEL_FORMATS.map((f) => f.exportName)));
    } catch (error) {
      // Still fast on one thread: better than failing where workers cannot start.
      logger.warn?.(`kernels: worker threads unavailable (${(error as Error).message}); computing on the calling thread only`);
    }
  }
  const backend = new WasmBackend({ kernels, pool, threads: pool === undefined ? 1 : threads, shardBytes, arenaBytes, logger, minParallelWork });
  backend.warmUp(warmUpRounds);
  logger.info?.(`kernels: ${kernels.variant}${kernels.fusedDot ? ' (fused dot-add)' : ''}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}`);
  return backend;
}
