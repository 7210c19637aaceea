/**
 * The Node implementation of `ByteSource`: a file read with positional reads (never a seek pointer, so reads
 * may run concurrently, and files beyond 4 GiB work). Kept apart from `byte-source.ts` because it needs
 * node:fs, which a browser entry point would leave out.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { checkOpen, checkRange, type ByteSource } from './byte-source.js';
import { ByteSourceError } from './errors.js';

/** One read call stays well below the 2 GiB limit of a single read(2). */
const MAX_READ_BYTES = 1 << 30;

/** A file opened read-only. `size` is the file's size at open. */
export class FileByteSource implements ByteSource {
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    /** The path the file was opened from (messages name it). */
    readonly path: string,
  ) {}

  /** Opens `path` read-only; fails with Node's own error (ENOENT, EACCES, ...) if it cannot. */
  static async open(path: string): Promise<FileByteSource> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      return new FileByteSource(handle, size, path);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.check(offset, length);
    const bytes = new Uint8Array(length);
    await this.fill(bytes, offset);
    return bytes;
  }

  async readInto(target: Uint8Array, offset: number): Promise<void> {
    this.check(offset, target.length);
    await this.fill(target, offset);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  private check(offset: number, length: number): void {
    checkOpen(this.closed, offset, length, this.path);
    checkRange(offset, length, this.size, this.path);
  }

  private async fill(target: Uint8Array, offset: number): Promise<void> {
    for (let done = 0; done < target.length; ) {
      const length = Math.min(target.length - done, MAX_READ_BYTES);
      const { bytesRead } = await this.handle.read(target, done, length, offset + done);
      if (bytesRead === 0) {
        throw new ByteSourceError('SHORT_READ', `${this.path} ends at byte ${offset + done} (it had ${this.size} bytes at open), ${target.length - done} more bytes expected`, {
          offset: offset + done,
          length: target.length,
        });
      }
      done += bytesRead;
    }
  }
}
