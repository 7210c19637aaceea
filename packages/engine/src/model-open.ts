/**
 * The inference worker's part of opening a model, on any platform: an SMQ byte source (or any tensor source,
 * such as a GGUF file read directly) onto a fresh kernel backend, with progress and forwarded log messages.
 * No node:* here (the browser worker uses it as is).
 */
import { SmqReader, type ByteSource } from '@smallmind/io-smq';
import { createBackend, type KernelBackend } from '@smallmind/quantization-kernels';
import { SmqModelLoader, type Logger, type Model, type ModelTensorSource } from '@smallmind/runtime';
import type { WorkerLoadOptions, WorkerRuntimeInfo } from './worker/protocol.js';

export interface OpenHooks {
  /** True once the caller aborted this load (the browser stops a download or import then). */
  readonly aborted?: () => boolean;
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  /** `import`: bytes copied into the cache; `load`: bytes of weights placed in kernel memory. */
  readonly progress: (phase: 'download' | 'import' | 'load', done: number, total: number, itemsDone: number, itemsTotal: number) => void;
}

export interface OpenedModel {
  /** Browser: the model came from the OPFS cache. */
  readonly fromCache?: boolean;
  /** Browser: what the worker runs on. */
  readonly runtime?: WorkerRuntimeInfo;
  readonly model: Model;
  readonly smqPath: string;
  /** This call imported the GGUF (false: a cache hit, or an SMQ path). */
  readonly imported: boolean;
  /** e.g. `wasm-relaxed-simd x2`. */
  readonly kernels: string;
  /** Releases the model and its kernel backend (worker threads, kernel memory). */
  dispose(): Promise<void>;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** A Logger that forwards messages at or above `level` through `log`. */
export function forwardingLogger(level: WorkerLoadOptions['logLevel'], log: OpenHooks['log']): Logger {
  const min = level === 'silent' ? LEVELS.length : LEVELS.indexOf(level);
  const at = (l: (typeof LEVELS)[number]) => (message: string) => {
    if (LEVELS.indexOf(l) >= min) log(l, message);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

type LoadOptions = Pick<WorkerLoadOptions, 'threads' | 'kernels' | 'preserveQuantization'>;
type LoadedModel = { model: Model; kernels: string; backend: KernelBackend; dispose(): Promise<void> };

/**
 * Loads an SMQ file onto a fresh kernel backend (see `loadTensors`). `openSource` gives the file's bytes;
 * `name` stands for the file in messages. `verifyChecksums: false` only for bytes this process just wrote
 * and checksummed (a fresh import).
 */
export function loadSmq(
  openSource: () => Promise<ByteSource>,
  name: string,
  options: LoadOptions & { readonly verifyChecksums?: boolean },
  logger: Logger,
  hooks: OpenHooks,
): Promise<LoadedModel> {
  const openReader = async (): Promise<ModelTensorSource> => {
    const source = await openSource();
    try {
      return await SmqReader.fromSource(source, options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums });
    } catch (error) {
      await source.close();
      throw error;
    }
  };
  return loadTensors(openReader, name, options, logger, hooks);
}

/**
 * Loads a model from a tensor source (an SMQ reader, or a GGUF file read directly) onto a fresh kernel
 * backend (disposed again if the load fails), reporting progress tensor by tensor. The backend exists
 * before the source is opened, so the matrices' kernel memory is reserved before any byte is read.
 */
export async function loadTensors(
  openTensors: () => Promise<ModelTensorSource>,
  name: string,
  options: LoadOptions,
  logger: Logger,
  hooks: OpenHooks,
): Promise<LoadedModel> {
  const backend = await createBackend({
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    prefer: options.kernels ?? 'wasm',
    logger,
  });
  try {
    // The loader reads every matrix straight into kernel memory, and sessions keep their KV cache there.
    const model = await SmqModelLoader.loadFromTensors(await openTensors(), name, {
      logger,
      backend,
      onProgress: (p) => hooks.progress('load', p.bytesDone, p.bytesTotal, p.tensorsDone, p.tensorsTotal),
      ...(options.preserveQuantization === undefined ? {} : { preserveQuantization: options.preserveQuantization }),
    });
    const dispose = async (): Promise<void> => {
      await model.dispose();
      await backend.dispose();
    };
    return { model, kernels: `${backend.name} x${backend.threads}`, backend, dispose };
  } catch (error) {
    await backend.dispose();
    throw error;
  }
}
