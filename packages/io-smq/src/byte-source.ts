/**
 * Random-access bytes, the one abstraction both readers (SMQ here, GGUF in @smallmind/io-gguf) read from.
 * The interface is what a browser `Blob`/`File` (`blob.slice(a, b).arrayBuffer()`) or an HTTP range request
 * can offer: an async `read(offset, length)`, a `size` known up front, and `close()`. Sources that can fill a
 * caller's buffer directly (a file's positional reads, bytes in memory) also offer `readInto`, which saves a
 * copy for large tensors (e.g. straight into WebAssembly memory).
 *
 * This module must not import node:* (a browser build can take it as is); the Node file source lives in
 * `file-byte-source.ts`.
 */
import { ByteSourceError } from './errors.js';

export interface ByteSource {
  /** Total size in bytes, fixed when the source was opened. */
  readonly size: number;
  /**
   * The `length` bytes at `offset`, in a new buffer the caller owns. Rejects with a `ByteSourceError`:
   * OUT_OF_RANGE if `offset`/`length` are not integers or the range leaves `0..size` (checked before
   * anything is allocated), SHORT_READ if the data ends early (a file truncated after open), CLOSED after
   * `close()`.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Optional: fills all of `target` with the bytes at `offset`, without an intermediate buffer; errors as `read`. */
  readInto?(target: Uint8Array, offset: number): Promise<void>;
  /** Releases the underlying resource; later reads reject with CLOSED. Idempotent. */
  close(): Promise<void>;
}

/** Fills `target` from `source` at `offset`, through `readInto` when the source has it. */
export async function readIntoFrom(source: ByteSource, target: Uint8Array, offset: number): Promise<void> {
  if (source.readInto !== undefined) {
    await source.readInto(target, offset);
    return;
  }
  const bytes = await source.read(offset, target.length);
  // A custom source could break the contract; a short result must not pass as a full read.
  if (bytes.length !== target.length) {
    throw new ByteSourceError('SHORT_READ', `the source returned ${bytes.length} bytes at ${offset}, ${target.length} were asked for`, { offset: offset + Math.min(bytes.length, target.length), length: target.length });
  }
  target.set(bytes);
}

/**
 * Checks a requested range against a source of `size` bytes; every implementation calls this before it
 * allocates or reads, so an untrusted length never sizes an allocation.
 */
export function checkRange(offset: number, length: number, size: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || offset > size || length > size - offset) {
    throw new ByteSourceError('OUT_OF_RANGE', `${what} has ${size} bytes, cannot read ${length} bytes at ${offset}`, { offset, length });
  }
}

export function checkOpen(closed: boolean, offset: number, length: number, what: string): void {
  if (closed) throw new ByteSourceError('CLOSED', `${what} is closed`, { offset, length });
}

/** Bytes already in memory: tests, fuzzing, or a whole file fetched elsewhere (e.g. in a browser). */
export class MemoryByteSource implements ByteSource {
  private readonly bytes: Uint8Array;
  private closed = false;

  /** Keeps a view of `data` (no copy); the caller should not change it while the source is in use. */
  constructor(data: Uint8Array | ArrayBuffer) {
    this.bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  }

  get size(): number {
    return this.bytes.length;
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    try {
      this.check(offset, length);
      return Promise.resolve(this.bytes.slice(offset, offset + length));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  readInto(target: Uint8Array, offset: number): Promise<void> {
    try {
      this.check(offset, target.length);
      target.set(this.bytes.subarray(offset, offset + target.length));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private check(offset: number, length: number): void {
    checkOpen(this.closed, offset, length, 'the in-memory source');
    checkRange(offset, length, this.bytes.length, 'the in-memory source');
  }
}
