/**
 * Browser twin of kernel-workers.ts. Kernel threads in a page need Web Workers that receive memory shards
 * while they wait on the control words, which the Node worker source (synchronous receiveMessageOnPort)
 * cannot do in a browser; until that lands, starting one rejects and createBackend computes on the calling
 * thread (it logs why), so a browser build always works single-threaded.
 */
import { KernelError } from './errors.js';

export interface KernelWorkerData {
  readonly module: WebAssembly.Module;
  readonly control: SharedArrayBuffer;
  readonly threadIndex: number;
  readonly spinIterations: number;
  readonly kernelNames: readonly string[];
}

export interface KernelWorker {
  sendShard(shard: number, memory: WebAssembly.Memory): void;
  takeErrorReport(): string | undefined;
  readonly exited: Promise<void>;
  terminate(): void;
  close(): void;
}

export function spawnKernelWorker(data: KernelWorkerData): Promise<KernelWorker> {
  return Promise.reject(new KernelError('WORKER_FAILED', `kernel worker ${data.threadIndex}: kernel threads are not available in the browser build yet`));
}
