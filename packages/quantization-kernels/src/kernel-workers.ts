/**
 * How the thread pool starts and talks to its kernel workers, in Node: worker_threads running WORKER_SOURCE,
 * with a MessagePort per worker (shards go out; an error report comes back, read synchronously). The pool's
 * dispatch (thread-pool.ts) uses only this interface; kernel-workers.browser.ts is the Web Worker twin.
 */
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { KernelError } from './errors.js';
import { WORKER_SOURCE } from './worker-source.js';

/** What a kernel worker is started with (see worker-source.ts). */
export interface KernelWorkerData {
  readonly module: WebAssembly.Module;
  readonly control: SharedArrayBuffer;
  readonly threadIndex: number;
  readonly spinIterations: number;
  readonly kernelNames: readonly string[];
}

export interface KernelWorker {
  /** Hands a memory shard to the worker; it has it before the next dispatch that names it. */
  sendShard(shard: number, memory: WebAssembly.Memory): void;
  /** The error the worker reported after it flagged a failure, if it can be read now. */
  takeErrorReport(): string | undefined;
  /** Settles when the worker has exited, for whatever reason. */
  readonly exited: Promise<void>;
  /** Ends the worker at once (after it did not exit by itself). */
  terminate(): void;
  /** Releases the channel once the worker has exited. */
  close(): void;
}

/** Starts one kernel worker; resolves once it runs. */
export function spawnKernelWorker(data: KernelWorkerData): Promise<KernelWorker> {
  const channel = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { ...data, port: channel.port2 },
    transferList: [channel.port2],
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const handle: KernelWorker = {
    sendShard: (shard, memory) => channel.port1.postMessage({ shard, memory }),
    takeErrorReport: () => (receiveMessageOnPort(channel.port1)?.message as { error?: string } | undefined)?.error,
    exited,
    terminate: () => void worker.terminate(),
    close: () => channel.port1.close(),
  };
  return new Promise<KernelWorker>((resolve, reject) => {
    worker.once('online', () => {
      // Idle workers must not keep the process alive (a caller that never disposes can still exit).
      worker.unref();
      resolve(handle);
    });
    worker.once('error', (error) => {
      channel.port1.close();
      reject(new KernelError('WORKER_FAILED', `kernel worker ${data.threadIndex} failed to start: ${error.message}`));
    });
  });
}
