/// <reference path="./webassembly.d.ts" />
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { KernelError } from './errors.js';
import { WORKER_SOURCE } from './worker-source.js';

/** Word offsets in the control Int32Array shared with the workers (see worker-source.ts). */
export const CONTROL = {
  GEN: 0,
  DONE: 1,
  CMD: 2,
  ERROR: 3,
  KERNEL: 4,
  SHARD: 5,
  W: 6,
  ROW_BYTES: 7,
  ROWS: 8,
  A: 9,
  A_STRIDE: 10,
  N: 11,
  Y: 12,
  Y_STRIDE: 13,
  COLS: 14,
  SCRATCH: 15,
  SCRATCH_STRIDE: 16,
  THREADS: 17,
} as const;
const CONTROL_WORDS = 18;

/** Where each job field goes in the control block. */
const JOB_WORDS: ReadonlyArray<readonly [number, keyof KernelJob]> = [
  [CONTROL.KERNEL, 'kernel'],
  [CONTROL.SHARD, 'shard'],
  [CONTROL.W, 'w'],
  [CONTROL.ROW_BYTES, 'rowBytes'],
  [CONTROL.ROWS, 'rows'],
  [CONTROL.A, 'a'],
  [CONTROL.A_STRIDE, 'aStride'],
  [CONTROL.N, 'n'],
  [CONTROL.Y, 'y'],
  [CONTROL.Y_STRIDE, 'yStride'],
  [CONTROL.COLS, 'cols'],
  [CONTROL.SCRATCH, 'scratch'],
  [CONTROL.SCRATCH_STRIDE, 'scratchStride'],
];
const CMD_RUN = 1;
const CMD_EXIT = 2;

/** One kernel call, split by rows across the main thread and the workers. */
export interface KernelJob {
  readonly kernel: number;
  readonly shard: number;
  readonly w: number;
  readonly rowBytes: number;
  readonly rows: number;
  readonly a: number;
  readonly aStride: number;
  readonly n: number;
  readonly y: number;
  readonly yStride: number;
  readonly cols: number;
  /** Scratch of thread t is scratch + t * scratchStride. */
  readonly scratch: number;
  readonly scratchStride: number;
  /** Threads taking part (1 .. pool size); the main thread is thread 0. */
  readonly threads: number;
}

interface PoolWorker {
  readonly worker: Worker;
  /** Main-thread end of the worker's channel: shards go out, error reports come back. */
  readonly port: MessagePort;
  /** Settles when the worker thread has exited, for whatever reason. */
  readonly exited: Promise<void>;
}

/** How long a call may wait for its workers before it is declared failed (a worker died). */
const JOB_TIMEOUT_MS = 120_000;

/**
 * Main thread + (threads - 1) workers over shared WebAssembly memories. `run` is synchronous: it
 * publishes the job, computes slice 0 on the calling thread and waits for the others, first with a
 * bounded spin (a round trip costs ~0.25 us while workers are still spinning), then Atomics.wait.
 */
export class ThreadPool {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  private readonly workers: PoolWorker[] = [];
  private disposed = false;

  private constructor(
    readonly threads: number,
    private readonly spinIterations: number,
  ) {}

  /** Starts `threads - 1` workers, each compiling nothing (the module is shared) and waiting for jobs. */
  static async start(module: WebAssembly.Module, threads: number, spinIterations: number, kernelNames: readonly string[]): Promise<ThreadPool> {
    const pool = new ThreadPool(threads, spinIterations);
    const started: Promise<void>[] = [];
    for (let threadIndex = 1; threadIndex < threads; threadIndex++) {
      const channel = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, control: pool.control.buffer, port: channel.port2, threadIndex, spinIterations, kernelNames },
        transferList: [channel.port2],
      });
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      pool.workers.push({ worker, port: channel.port1, exited });
      started.push(
        new Promise<void>((resolve, reject) => {
          worker.once('online', () => resolve());
          worker.once('error', (error) => reject(new KernelError('WORKER_FAILED', `kernel worker ${threadIndex} failed to start: ${error.message}`)));
        }),
      );
    }
    try {
      await Promise.all(started);
      // Idle workers must not keep the process alive (a caller that never disposes can still exit).
      for (const { worker } of pool.workers) worker.unref();
    } catch (error) {
      await pool.dispose();
      throw error;
    }
    return pool;
  }

  /** Hands a new memory shard to every worker (attached when a job first uses it). */
  attachShard(shard: number, memory: WebAssembly.Memory): void {
    for (const { port } of this.workers) port.postMessage({ shard, memory });
  }

  /**
   * Runs `job` on all participating threads; `computeOwnSlice(r0, r1)` is called for thread 0's rows.
   * Throws KernelError WORKER_FAILED when a worker reports an error or does not answer in time.
   */
  run(job: KernelJob, computeOwnSlice: (r0: number, r1: number) => void): void {
    if (this.disposed) throw new KernelError('BACKEND_DISPOSED', 'the thread pool was disposed');
    const c = this.control;
    const helpers = Math.min(job.threads, this.threads) - 1;
    for (const [word, field] of JOB_WORDS) c[word] = job[field] | 0; // addresses >= 2^31 keep their bits: wasm i32 parameters take them as is
    c[CONTROL.THREADS] = helpers + 1;
    c[CONTROL.CMD] = CMD_RUN;
    c[CONTROL.ERROR] = 0;
    Atomics.store(c, CONTROL.DONE, 0);
    // Every worker wakes on each job (the ones beyond `threads` just report done), so the done
    // count to wait for is always the pool's worker count.
    Atomics.add(c, CONTROL.GEN, 1);
    Atomics.notify(c, CONTROL.GEN);
    let ownError: unknown;
    try {
      computeOwnSlice(0, Math.floor(job.rows / (helpers + 1)));
    } catch (error) {
      ownError = error;
    }
    this.waitForWorkers();
    if (ownError !== undefined) throw ownError;
    const failed = Atomics.load(c, CONTROL.ERROR);
    if (failed !== 0) {
      const report = receiveMessageOnPort(this.workers[failed - 1]!.port)?.message as { error?: string } | undefined;
      throw new KernelError('WORKER_FAILED', `kernel worker ${failed} failed: ${report?.error ?? 'unknown error'}`);
    }
  }

  private waitForWorkers(): void {
    const c = this.control;
    const target = this.workers.length;
    let done = Atomics.load(c, CONTROL.DONE);
    for (let i = 0; done < target && i < this.spinIterations; i++) done = Atomics.load(c, CONTROL.DONE);
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    while (done < target) {
      if (Atomics.wait(c, CONTROL.DONE, done, 1000) === 'timed-out' && Date.now() > deadline) {
        throw new KernelError('WORKER_FAILED', `kernel workers did not finish within ${JOB_TIMEOUT_MS} ms (${done} of ${target} done)`);
      }
      done = Atomics.load(c, CONTROL.DONE);
    }
  }

  /** Stops the workers and waits for them to exit. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const c = this.control;
    c[CONTROL.CMD] = CMD_EXIT;
    Atomics.add(c, CONTROL.GEN, 1);
    Atomics.notify(c, CONTROL.GEN);
    await Promise.all(
      this.workers.map(async ({ worker, port, exited }) => {
        const timer = setTimeout(() => void worker.terminate(), 5_000);
        await exited;
        clearTimeout(timer);
        port.close();
      }),
    );
  }
}
