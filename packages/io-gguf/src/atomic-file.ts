/**
 * Atomic file creation: everything is written to a temporary file next to the destination, which is
 * fsynced and then moved into place in one step. Readers see either no file or the complete file.
 * Without `overwrite` the final step is `link()`, which fails atomically if the destination appeared
 * in the meantime (no check-then-rename race).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, link, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GgufWriteError, GgufWriteErrorCode } from './errors.js';

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms/filesystems cannot open or fsync a directory; the rename itself is still atomic.
    if (!isErrno(error, 'EISDIR') && !isErrno(error, 'EINVAL') && !isErrno(error, 'EPERM') && !isErrno(error, 'EACCES')) throw error;
  } finally {
    await handle?.close();
  }
}

const LINK_UNSUPPORTED = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'];

export class AtomicFile {
  private state: 'open' | 'committed' | 'aborted' = 'open';

  private constructor(
    readonly path: string,
    readonly tempPath: string,
    readonly handle: FileHandle,
    private readonly overwrite: boolean,
  ) {}

  /** Opens a temporary file for `path`. Fails early (DESTINATION_EXISTS) if `path` exists and `overwrite` is false. */
  static async create(path: string, overwrite: boolean): Promise<AtomicFile> {
    if (!overwrite && (await exists(path))) {
      throw new GgufWriteError(GgufWriteErrorCode.DESTINATION_EXISTS, path, `${path} already exists (pass overwrite: true to replace it)`);
    }
    const tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(tempPath, 'wx', 0o644);
    return new AtomicFile(path, tempPath, handle, overwrite);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** fsync, close, and move the temporary file to `path`. */
  async commit(): Promise<void> {
    if (this.state !== 'open') throw new GgufWriteError(GgufWriteErrorCode.NOT_WRITABLE, this.path, `cannot commit: the file was already ${this.state}`);
    this.state = 'committed';
    try {
      await this.handle.sync();
      await this.handle.close();
      if (this.overwrite) {
        await rename(this.tempPath, this.path);
      } else {
        await this.publishWithoutOverwrite();
      }
      await fsyncDirectory(dirname(this.path));
    } catch (error) {
      await unlink(this.tempPath).catch(() => undefined);
      throw error;
    }
  }

  private async publishWithoutOverwrite(): Promise<void> {
    const appeared = (cause?: unknown): GgufWriteError =>
      new GgufWriteError(GgufWriteErrorCode.DESTINATION_EXISTS, this.path, `${this.path} appeared while it was being written`, { cause });
    try {
      await link(this.tempPath, this.path);
    } catch (error) {
      if (isErrno(error, 'EEXIST')) throw appeared(error);
      if (!LINK_UNSUPPORTED.some((code) => isErrno(error, code))) throw error;
      // No hard links here (some network/FAT filesystems): check, then rename (a small race remains).
      if (await exists(this.path)) throw appeared();
      await rename(this.tempPath, this.path);
      return;
    }
    await unlink(this.tempPath);
  }

  /** Closes and deletes the temporary file; the destination is untouched. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.handle.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }
}
