/**
 * Atomic file creation, shared by the SMQ and GGUF writers: everything is written to a temporary file next
 * to the destination, which is fsynced and then moved into place in one step, and the directory is fsynced
 * so the new entry is durable. Readers see either no file or the complete file. Without `overwrite` the
 * final step is `link()`, which fails atomically if the destination appeared in the meantime (no
 * check-then-rename race); filesystems without hard links fall back to check-then-rename.
 */
import { unlinkSync } from 'node:fs';
import { access, constants, link, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Paths removed if the process ends before they are settled: open temporary files (and whatever else a
 * caller tracks, such as an import's lock file). SIGKILL cannot be caught; callers that need that case
 * sweep leftovers at start-up (see the engine's model cache).
 */
const tracked = new Map<string, number>();
const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type CleanupSignal = (typeof CLEANUP_SIGNALS)[number];

function removeTrackedSync(): void {
  for (const path of tracked.keys()) {
    try {
      unlinkSync(path);
    } catch {
      // Already gone, or not ours to remove any more: nothing left to clean.
    }
  }
  tracked.clear();
}

function onSignal(signal: CleanupSignal): void {
  // When the application handles the signal itself it decides whether the process ends; if it exits,
  // the 'exit' hook below still cleans up. When we are the only listener, the signal would have killed
  // the process: clean up, then let it do exactly that (the exit status still says "killed by SIGINT").
  if (process.listenerCount(signal) > 1) return;
  removeTrackedSync();
  unhook();
  process.kill(process.pid, signal);
}

const signalHandlers = new Map<CleanupSignal, () => void>(CLEANUP_SIGNALS.map((signal) => [signal, () => onSignal(signal)]));
let hooked = false;

function hook(): void {
  if (hooked) return;
  hooked = true;
  for (const [signal, handler] of signalHandlers) process.on(signal, handler);
  process.on('exit', removeTrackedSync);
}

function unhook(): void {
  if (!hooked) return;
  hooked = false;
  for (const [signal, handler] of signalHandlers) process.off(signal, handler);
  process.off('exit', removeTrackedSync);
}

/** Registers `path` for removal at exit or on SIGINT/SIGTERM/SIGHUP; the returned function unregisters it. */
function track(path: string): () => void {
  tracked.set(path, (tracked.get(path) ?? 0) + 1);
  hook();
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const count = (tracked.get(path) ?? 1) - 1;
    if (count > 0) tracked.set(path, count);
    else tracked.delete(path);
    if (tracked.size === 0) unhook();
  };
}

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
    private readonly untrack: () => void,
  ) {}

  /**
   * Creates the temporary file. Fails early (`errors.destinationExists`) if `path` exists and `overwrite` is
   * false. Until `commit()` or `abort()` settles it, the temporary file is also removed if the process exits
   * or is ended by SIGINT, SIGTERM or SIGHUP.
   */
  static async create(path: string, options: AtomicFileOptions): Promise<AtomicFile> {
    if (!options.overwrite && (await pathExists(path))) throw options.errors.destinationExists(path, false);
    const untrack = track(options.tempPath);
    try {
      const handle = await open(options.tempPath, 'wx');
      return new AtomicFile(path, options.tempPath, handle, options.overwrite, options.errors, untrack);
    } catch (error) {
      untrack();
      throw error;
    }
  }

  /**
   * Removes `path` if the process exits or is ended by SIGINT, SIGTERM or SIGHUP before the returned
   * function is called: the same clean-up temporary files get, for a caller's own short-lived files.
   */
  static removeOnExit(path: string): () => void {
    return track(path);
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Writes all of `bytes` at `position` of the temporary file (an `SmqWriteTarget`'s write). */
  async write(bytes: Uint8Array, position: number): Promise<void> {
    for (let done = 0; done < bytes.length; ) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
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
    } finally {
      this.untrack();
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
    this.untrack();
  }
}
