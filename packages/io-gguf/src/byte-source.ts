/** Random-access byte sources the GGUF reader reads from: a file on disk, or bytes already in memory. */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { GgufReadError, GgufReadErrorCode } from './errors.js';

export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads exactly `target.length` bytes starting at `position` into `target` (positional: no shared
   * file cursor, so concurrent reads are safe). Fails with a `GgufReadError` (SHORT_READ) if the source
   * ends first.
   */
  readInto(target: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
}

/** A file opened read-only; reads are positional `pread`s. */
export class FileByteSource implements ByteSource {
  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly path: string,
  ) {}

  static async open(path: string): Promise<FileByteSource> {
    const handle = await open(path, 'r');
    try {
      const stats = await handle.stat();
      return new FileByteSource(handle, stats.size, path);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async readInto(target: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < target.length) {
      const { bytesRead } = await this.handle.read(target, done, target.length - done, position + done);
      if (bytesRead === 0) {
        throw new GgufReadError(GgufReadErrorCode.SHORT_READ, undefined, `${this.path} ended at byte ${position + done} while reading ${target.length} bytes at ${position}`);
      }
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Bytes held in memory (tests, fuzzing, files fetched elsewhere). */
export class MemoryByteSource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}

  get size(): number {
    return this.bytes.length;
  }

  async readInto(target: Uint8Array, position: number): Promise<void> {
    if (position + target.length > this.bytes.length) {
      throw new GgufReadError(GgufReadErrorCode.SHORT_READ, undefined, `in-memory source has ${this.bytes.length} bytes, cannot read ${target.length} at ${position}`);
    }
    target.set(this.bytes.subarray(position, position + target.length));
  }

  async close(): Promise<void> {}
}
