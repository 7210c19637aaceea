/**
 * Atomic file creation, shared by the SMQ and GGUF writers: everything is written to a temporary file next
 * to the destination, which is fsynced and then moved into place in one step, and the directory is fsynced
 * so the new entry is durable. Readers see either no file or the complete file. Without `overwrite` the
 * final step is `link()`, which fails atomically if the destination appeared in the meantime (no
 * check-then-rename race); filesystems without hard links fall back to check-then-rename.
 */
import { access, constants, link, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

function isErrno(error: unknown, ...codes: readonly string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

/** Makes a completed rename durable: the directory entry itself must reach the disk. */
async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) and filesystems cannot open or fsync a directory; the rename itself is still atomic.
    if (!isErrno(error, 'EISDIR', 'EINVAL', 'EPERM', 'EACCES')) throw error;
  } finally {
    await handle?.close();
  }
}

/** Errors from `link()` that mean "this filesystem has no hard links", not "the destination exists". */
const LINK_UNSUPPORTED = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'] as const;

/** The writer's own typed errors, so each package reports a refused destination in its own terms. */
export interface AtomicFileErrors {
  /**
   * The destination exists and `overwrite` is false: `appeared` is false when it existed before the
   * temporary file was created, true when it appeared while the file was being written.
   */
  destinationExists(path: string, appeared: boolean, cause?: unknown): Error;
  /** `commit()` was called on a file that was already committed or aborted. */
  notOpen(path: string, state: 'committed' | 'aborted'): Error;
}

export interface AtomicFileOptions {
  /** Replace an existing destination (rename) instead of refusing it. */
  readonly overwrite: boolean;
  /** Where the temporary file goes: next to the destination, so the final rename stays on one filesystem. */
  readonly tempPath: string;
  readonly errors: AtomicFileErrors;
}

/** A file being written under a temporary name, published at `path` by `commit()` or discarded by `abort()`. */
export class AtomicFile {
  private state: 'open' | 'committed' | 'aborted' = 'open';

  private constructor(
    readonly path: string,
    readonly tempPath: string,
    /** The temporary file, open for writing (positional writes). */
    readonly handle: FileHandle,
    private readonly overwrite: boolean,
    private readonly errors: AtomicFileErrors,
  ) {}

  /** Creates the temporary file. Fails early (`errors.destinationExists`) if `path` exists and `overwrite` is false. */
  static async create(path: string, options: AtomicFileOptions): Promise<AtomicFile> {
    if (!options.overwrite && (await pathExists(path))) throw options.errors.destinationExists(path, false);
    const handle = await open(options.tempPath, 'wx');
    return new AtomicFile(path, options.tempPath, handle, options.overwrite, options.errors);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** fsync, close, move the temporary file to `path` and fsync the directory. On failure the temporary file is removed. */
  async commit(): Promise<void> {
    if (this.state !== 'open') throw this.errors.notOpen(this.path, this.state);
    this.state = 'committed';
    try {
      await this.handle.sync();
      await this.handle.close();
      if (this.overwrite) await rename(this.tempPath, this.path);
      else await this.publishWithoutOverwrite();
      await fsyncDirectory(dirname(this.path));
    } catch (error) {
      await unlink(this.tempPath).catch(() => undefined);
      throw error;
    }
  }

  private async publishWithoutOverwrite(): Promise<void> {
    try {
      await link(this.tempPath, this.path);
    } catch (error) {
      if (isErrno(error, 'EEXIST')) throw this.errors.destinationExists(this.path, true, error);
      if (!isErrno(error, ...LINK_UNSUPPORTED)) throw error;
      // No hard links here (some network/FAT filesystems): check, then rename (a small race remains).
      if (await pathExists(this.path)) throw this.errors.destinationExists(this.path, true);
      await rename(this.tempPath, this.path);
      return;
    }
    await unlink(this.tempPath);
  }

  /**
   * Closes and deletes the temporary file; the destination is untouched. Best effort (it runs on failure
   * paths, where the original error matters more), a no-op after `commit()`, and safe to call more than once.
   */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.handle.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }
}
