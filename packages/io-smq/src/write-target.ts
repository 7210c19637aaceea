/**
 * Where an `SmqWriter` puts the file it writes. A target is written under a temporary identity and becomes
 * the real thing only on `commit()` (a file renamed into place, an OPFS entry moved to its final name, a
 * buffer handed out); `abort()` discards it. Node's `AtomicFile` is one; `MemoryWriteTarget` keeps the bytes.
 * No node:* here: the browser build uses this module as is.
 */
import { SmqWriteError } from './errors.js';

export interface SmqWriteTarget {
  /** The name the finished file will have (messages name it). */
  readonly path: string;
  /** The name it has while being written. */
  readonly tempPath: string;
  /** Writes all of `bytes` at `position`. */
  write(bytes: Uint8Array, position: number): Promise<void>;
  /** Makes the written file the finished one; on failure the temporary one is removed. */
  commit(): Promise<void>;
  /** Discards what was written. Best effort, idempotent, a no-op after commit. */
  abort(): Promise<void>;
}

/** `bytes` random bytes as hex (temporary names); Web Crypto is global in browsers and Node >= 20. */
export function randomHex(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A target in memory: `bytes()` is the finished file after `commit()`. Sized once, by the writer's file length. */
export class MemoryWriteTarget implements SmqWriteTarget {
  private state: 'open' | 'committed' | 'aborted' = 'open';
  private buffer: Uint8Array | undefined;

  constructor(
    /** A name for messages. */
    readonly path = 'memory',
  ) {}

  get tempPath(): string {
    return `${this.path} (being written)`;
  }

  /** `SmqWriter.createOn`'s `open`: allocates the file's bytes (the writer computed `fileLength` from validated declarations). */
  open = (fileLength: number): Promise<SmqWriteTarget> => {
    if (!Number.isSafeInteger(fileLength) || fileLength < 0) return Promise.reject(new SmqWriteError('INVALID_TENSOR', `file length ${fileLength} is not a byte count`, this.path));
    this.buffer = new Uint8Array(fileLength);
    return Promise.resolve(this);
  };

  write(bytes: Uint8Array, position: number): Promise<void> {
    const buffer = this.buffer;
    if (this.state !== 'open' || buffer === undefined) return Promise.reject(new SmqWriteError('WRITER_CLOSED', `the memory target is ${this.buffer === undefined ? 'not open' : this.state}`, this.path));
    if (position < 0 || position + bytes.length > buffer.length) {
      return Promise.reject(new SmqWriteError('TOO_MUCH_DATA', `${bytes.length} bytes at ${position} pass the end of the ${buffer.length}-byte file`, this.path));
    }
    buffer.set(bytes, position);
    return Promise.resolve();
  }

  commit(): Promise<void> {
    if (this.state !== 'open' || this.buffer === undefined) return Promise.reject(new SmqWriteError('WRITER_CLOSED', `the memory target is ${this.state}`, this.path));
    this.state = 'committed';
    return Promise.resolve();
  }

  abort(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'aborted';
      this.buffer = undefined;
    }
    return Promise.resolve();
  }

  /** The finished file (after `commit()`). */
  bytes(): Uint8Array {
    if (this.state !== 'committed' || this.buffer === undefined) throw new SmqWriteError('INCOMPLETE', `the memory target is ${this.state}, not committed`, this.path);
    return this.buffer;
  }
}
