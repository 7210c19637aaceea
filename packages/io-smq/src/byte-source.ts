/**
 * Random-access bytes for the reader: a file read with positional reads (never a seek pointer, so reads may
 * run concurrently and files beyond 4 GiB work), or bytes already in memory.
 */
import type { FileHandle } from 'node:fs/promises';
import { SmqFormatError, SmqFormatErrorCode } from './errors.js';

export interface SmqByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /** Reads up to `target.length` bytes at `position`; returns how many were read (0 at the end). */
  read(target: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

/** One read call stays well below the 2 GiB limit of a single read(2). */
const MAX_READ_BYTES = 1 << 30;

export async function fileByteSource(handle: FileHandle): Promise<SmqByteSource> {
  const { size } = await handle.stat();
  return {
    size,
    async read(target, position) {
      const length = Math.min(target.length, MAX_READ_BYTES);
      const { bytesRead } = await handle.read(target, 0, length, position);
      return bytesRead;
    },
    close: () => handle.close(),
  };
}

export function memoryByteSource(bytes: Uint8Array): SmqByteSource {
  return {
    size: bytes.length,
    read(target, position) {
      const n = Math.max(0, Math.min(target.length, bytes.length - position));
      target.set(bytes.subarray(position, position + n));
      return Promise.resolve(n);
    },
    close: () => Promise.resolve(),
  };
}

/** Fills `target` from `position`; a short file (e.g. truncated since open) is a TRUNCATED format error. */
export async function readFully(source: SmqByteSource, target: Uint8Array, position: number, field: string, tensor?: string): Promise<void> {
  let filled = 0;
  while (filled < target.length) {
    const n = await source.read(target.subarray(filled), position + filled);
    if (n <= 0) {
      const where = { offset: position + filled, field };
      throw new SmqFormatError(SmqFormatErrorCode.TRUNCATED, `file ends at byte ${position + filled}, ${target.length - filled} more bytes expected`, tensor === undefined ? where : { ...where, tensor });
    }
    filled += n;
  }
}
