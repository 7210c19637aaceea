/// <reference path="./webassembly.d.ts" />
import { KernelError } from './errors.js';
import { spawnKernelWorker, type KernelWorker } from './kernel-workers.js';

/** Word offsets in the control Int32Array shared with the workers (see worker-source.ts). */
export const CONTROL = {
  GEN: 0,
  DONE: 1,
  CMD: 2,
  ERROR: 3,
  THREADS: 4,
  JOBS: 5,
  /** Job j's fields start at JOB_BASE + j * JOB_WORDS (offsets in JOB). */
  JOB_BASE: 6,
  JOB_WORDS: 13,
} as const;

/** Word offsets of one job's fields inside its record. */
export const JOB = {
  KERNEL: 0,
  SHARD: 1,
  W: 2,
  ROW_BYTES: 3,
  ROWS: 4,
  A: 5,
  A_STRIDE: 6,
  N: 7,
  Y: 8,
  Y_STRIDE: 9,
  COLS: 10,
  SCRATCH: 11,
  SCRATCH_STRIDE: 12,
} as const;

/** Most jobs one dispatch carries (multiplyShared groups Q/K/V or gate/up: 2-3). */
export const MAX_JOBS = 16;
const CONTROL_WORDS = CONTROL.JOB_BASE + MAX_JOBS * CONTROL.JOB_WORDS;

/** Where each job field goes in its record. */
const JOB_FIELDS: ReadonlyArray<readonly [number, keyof KernelJob]> = [
  [JOB.KERNEL, 'kernel'],
  [JOB.SHARD, 'shard'],
  [JOB.W, 'w'],
  [JOB.ROW_BYTES, 'rowBytes'],
  [JOB.ROWS, 'rows'],
  [JOB.A, 'a'],
  [JOB.A_STRIDE, 'aStride'],
  [JOB.N, 'n'],
  [JOB.Y, 'y'],
  [JOB.Y_STRIDE, 'yStride'],
  [JOB.COLS, 'cols'],
  [JOB.SCRATCH, 'scratch'],
  [JOB.SCRATCH_STRIDE, 'scratchStride'],
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
  private readonly workers: KernelWorker[] = [];
  private disposed = false;

  private constructor(
    readonly threads: number,
    private readonly spinIterations: number,
  ) {}

  /** Starts `threads - 1` workers, each compiling nothing (the module is shared) and waiting for jobs. */
  static async start(module: WebAssembly.Module, threads: number, spinIterations: number, kernelNames: readonly string[]): Promise<ThreadPool> {
    const pool = new ThreadPool(threads, spinIterations);
    // Workers are spawned by the platform's transport (worker_threads in Node, Web Workers in a browser).
    const started = await Promise.allSettled(
      Array.from({ length: threads - 1 }, (_, i) => spawnKernelWorker({ module, control: pool.control.buffer as SharedArrayBuffer, threadIndex: i + 1, spinIterations, kernelNames })),
    );
    for (const result of started) if (result.status === 'fulfilled') pool.workers.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed !== undefined) {
      await pool.dispose();
      throw failed.reason;
    }
    return pool;
  }

  /** Hands a new memory shard to every worker (attached when a job first uses it). */
  attachShard(shard: number, memory: WebAssembly.Memory): void {
    for (const worker of this.workers) worker.sendShard(shard, memory);
  }

  /**
   * Runs `jobs` (1 .. MAX_JOBS) in one dispatch on `threads` threads (1 .. pool size): every thread
   * computes its slice of rows of each job in turn; `computeOwnSlice(job, r0, r1)` is called for
   * thread 0's rows. One wake-up and one wait for all of them, so Q/K/V cost one synchronisation.
   * Throws KernelError WORKER_FAILED when a worker reports an error or does not answer in time.
   */
  run(jobs: readonly KernelJob[], threads: number, computeOwnSlice: (job: number, r0: number, r1: number) => void): void {
    if (this.disposed) throw new KernelError('BACKEND_DISPOSED', 'the thread pool was disposed');
    if (jobs.length < 1 || jobs.length > MAX_JOBS) throw new KernelError('BAD_ARGUMENT', `${jobs.length} jobs in one dispatch; 1..${MAX_JOBS} allowed`, { field: 'jobs' });
    const c = this.control;
    const helpers = Math.min(threads, this.threads) - 1;
    for (const [j, job] of jobs.entries()) {
      const base = CONTROL.JOB_BASE + j * CONTROL.JOB_WORDS;
      for (const [word, field] of JOB_FIELDS) c[base + word] = job[field] | 0; // addresses >= 2^31 keep their bits: wasm i32 parameters take them as is
    }
    c[CONTROL.JOBS] = jobs.length;
    c[CONTROL.THREADS] = helpers + 1;
    c[CONTROL.CMD] = CMD_RUN;
    c[CONTROL.ERROR] = 0;
    Atomics.store(c, CONTROL.DONE, 0);
    // Every worker wakes on each dispatch (the ones beyond `threads` just report done), so the done
    // count to wait for is always the pool's worker count.
    Atomics.add(c, CONTROL.GEN, 1);
    Atomics.notify(c, CONTROL.GEN);
    let ownError: unknown;
    try {
      for (const [j, job] of jobs.entries()) computeOwnSlice(j, 0, Math.floor(job.rows / (helpers + 1)));
    } catch (error) {
      ownError = error;
    }
    this.waitForWorkers();
    if (ownError !== undefined) throw ownError;
    const failed = Atomics.load(c, CONTROL.ERROR);
    if (failed !== 0) {
      const report = this.workers[failed - 1]!.takeErrorReport();
      throw new KernelError('WORKER_FAILED', `kernel worker ${failed} failed: ${report ?? 'unknown error'}`);
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
      this.workers.map(async (worker) => {
        const timer = setTimeout(() => worker.terminate(), 5_000);
        await worker.exited;
        clearTimeout(timer);
        worker.close();
      }),
    );
  }
}
