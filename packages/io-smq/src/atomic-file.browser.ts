/**
 * Browser twin of atomic-file.ts: there is no file path to publish to. Writers in a browser write to an
 * `SmqWriteTarget` (memory, or an OPFS file handle with the same temp-name-then-rename semantics).
 */
import { SmqWriteError } from './errors.js';

export interface AtomicFileErrors {
  destinationExists(path: string, appeared: boolean, cause?: unknown): Error;
  notOpen(path: string, state: 'committed' | 'aborted'): Error;
}

export interface AtomicFileOptions {
  readonly overwrite: boolean;
  readonly tempPath: string;
  readonly errors: AtomicFileErrors;
}

function unsupported(path: string): SmqWriteError {
  return new SmqWriteError('UNSUPPORTED', `cannot write the file path ${JSON.stringify(path)} in a browser; use SmqWriter.createOn with an SmqWriteTarget`, path);
}

export class AtomicFile {
  private constructor(
    readonly path: string,
    readonly tempPath: string,
  ) {}

  static create(path: string, _options: AtomicFileOptions): Promise<AtomicFile> {
    return Promise.reject(unsupported(path));
  }

  /** Nothing to remove at exit in a browser; the returned function does nothing. */
  static removeOnExit(_path: string): () => void {
    return () => {};
  }

  get isOpen(): boolean {
    return false;
  }

  write(_bytes: Uint8Array, _position: number): Promise<void> {
    return Promise.reject(unsupported(this.path));
  }

  commit(): Promise<void> {
    return Promise.reject(unsupported(this.path));
  }

  abort(): Promise<void> {
    return Promise.resolve();
  }
}
