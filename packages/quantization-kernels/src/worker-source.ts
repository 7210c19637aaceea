/// <reference path="./webassembly.d.ts" />
/**
 * Source of a kernel worker, run with `new Worker(source, { eval: true })` so it works the same
 * from the sources, the bundle and any bundler (no separate file to locate).
 *
 * A worker owns one kernel instance per memory shard (shards arrive as messages on its port and
 * are attached when a job first names them). It waits for dispatches (one or more jobs) on the control words: a bounded
 * spin on the generation counter, then Atomics.wait (a worker that spins forever would steal the
 * only other core). It then takes chunks of rows from the shared NEXT counter (as the calling thread
 * does, see ThreadPool.run) until none is left, and bumps the done counter.
 *
 * Control layout (Int32Array): see CONTROL and JOB in thread-pool.ts; kept in sync by the tests.
 */
export const WORKER_SOURCE = String.raw`
'use strict';
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { module, control, port, threadIndex, spinIterations, kernelNames } = workerData;
const ctl = new Int32Array(control);
const GEN = 0, DONE = 1, CMD = 2, ERROR = 3, THREADS = 4, JOBS = 5, NEXT = 6, JOB_BASE = 7, JOB_WORDS = 14;
const KERNEL = 0, SHARD = 1, W = 2, ROW_BYTES = 3, ROWS = 4, A = 5, A_STRIDE = 6, N = 7, Y = 8, Y_STRIDE = 9,
  COLS = 10, SCRATCH = 11, SCRATCH_STRIDE = 12, CHUNK = 13;
const CMD_RUN = 1, CMD_EXIT = 2;
const shards = [];

function shardExports(index) {
  while (shards[index] === undefined) {
    const received = receiveMessageOnPort(port);
    if (received === undefined) throw new Error('memory shard ' + index + ' was never sent to worker ' + threadIndex);
    const { shard, memory } = received.message;
    shards[shard] = new WebAssembly.Instance(module, { env: { memory } }).exports;
  }
  return shards[index];
}

// The generation starts at 0 and the main thread waits for every worker after each job, so a
// worker that starts late still sees the first job as new.
let seen = 0;
for (;;) {
  let gen = Atomics.load(ctl, GEN);
  for (let i = 0; gen === seen && i < spinIterations; i++) gen = Atomics.load(ctl, GEN);
  if (gen === seen) {
    Atomics.wait(ctl, GEN, seen);
    continue;
  }
  seen = gen;
  if (ctl[CMD] === CMD_EXIT) break;
  try {
    const jobs = ctl[JOBS];
    let j = 0;
    let first = 0; // index of job j's first chunk
    while (threadIndex < ctl[THREADS]) {
      const chunk = Atomics.add(ctl, NEXT, 1);
      while (j < jobs && chunk >= first + Math.ceil(ctl[JOB_BASE + j * JOB_WORDS + ROWS] / ctl[JOB_BASE + j * JOB_WORDS + CHUNK])) {
        first += Math.ceil(ctl[JOB_BASE + j * JOB_WORDS + ROWS] / ctl[JOB_BASE + j * JOB_WORDS + CHUNK]);
        j++;
      }
      if (j === jobs) break;
      const o = JOB_BASE + j * JOB_WORDS;
      const r0 = (chunk - first) * ctl[o + CHUNK];
      const r1 = Math.min(ctl[o + ROWS], r0 + ctl[o + CHUNK]);
      const kernel = shardExports(ctl[o + SHARD])[kernelNames[ctl[o + KERNEL]]];
      kernel(ctl[o + W], ctl[o + ROW_BYTES], r0, r1, ctl[o + A], ctl[o + A_STRIDE], ctl[o + N], ctl[o + Y], ctl[o + Y_STRIDE],
        ctl[o + COLS], (ctl[o + SCRATCH] >>> 0) + threadIndex * ctl[o + SCRATCH_STRIDE]);
    }
  } catch (error) {
    Atomics.store(ctl, ERROR, threadIndex);
    try { port.postMessage({ error: String(error && error.stack || error) }); } catch {}
  }
  Atomics.add(ctl, DONE, 1);
  Atomics.notify(ctl, DONE);
}
`;
