/**
 * The read pipeline under every streamed tensor load (SMQ and GGUF): chunks read with a bounded number of
 * reads outstanding, consumed strictly in order. The consumer (a checksum, a progress count) no longer waits
 * for the source, nor the source for the consumer, and a file source keeps several positional reads busy in
 * the I/O thread pool, or a URL source several range requests on the wire.
 */

/** Default size of one read of a tensor stream. */
export const STREAM_CHUNK_BYTES = 16 << 20;
/** Default number of reads outstanding in a tensor stream. */
export const STREAM_READS_IN_FLIGHT = 4;

/**
 * Starts `read(chunk)` for up to `inFlight` chunks of `chunks` at once and calls `consume(chunk)` for each
 * in order, after its read resolved. On the first failure (a read or `consume` throwing) it stops starting
 * reads, lets the reads still running settle (so the caller may reuse or free their targets) and rethrows.
 */
export async function pipelineReads<C>(chunks: Iterator<C>, read: (chunk: C) => Promise<void>, consume: (chunk: C) => void, inFlight = STREAM_READS_IN_FLIGHT): Promise<void> {
  if (!Number.isSafeInteger(inFlight) || inFlight < 1) throw new RangeError(`inFlight must be a positive integer, got ${inFlight}`);
  const queue: { chunk: C; done: Promise<void> }[] = [];
  const start = (): void => {
    const next = chunks.next();
    if (next.done === true) return;
    const done = read(next.value);
    // Every read is awaited below, in order; this only keeps a later failure from being reported as
    // unhandled while an earlier one is being thrown.
    done.catch(() => {});
    queue.push({ chunk: next.value, done });
  };
  for (let i = 0; i < inFlight; i++) start();
  try {
    while (queue.length > 0) {
      const { chunk, done } = queue.shift()!;
      await done;
      start();
      consume(chunk);
    }
  } finally {
    await Promise.allSettled(queue.map((q) => q.done));
  }
}

/** One piece of one tensor's bytes: `bytes` (a view of its target) is read from `position` of the source. */
export interface TensorChunk {
  /** Index of the tensor in the stream's job list. */
  readonly job: number;
  readonly bytes: Uint8Array;
  readonly position: number;
  /** This piece is the tensor's last. */
  readonly last: boolean;
}

/** Cuts each job's target (read from `offset`) into chunks of at most `chunkBytes`; an empty tensor gives one empty last chunk. */
export function* tensorChunks(jobs: ReadonlyArray<{ readonly offset: number; readonly target: Uint8Array }>, chunkBytes = STREAM_CHUNK_BYTES): Generator<TensorChunk> {
  for (let job = 0; job < jobs.length; job++) {
    const { offset, target } = jobs[job]!;
    const length = target.length;
    if (length === 0) yield { job, bytes: target, position: offset, last: true };
    for (let at = 0; at < length; at += chunkBytes) {
      const end = Math.min(length, at + chunkBytes);
      yield { job, bytes: target.subarray(at, end), position: offset + at, last: end === length };
    }
  }
}
