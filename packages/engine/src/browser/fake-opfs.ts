/**
 * An in-memory Origin Private File System for tests in Node: the `OpfsDirectory` subset opfs-cache.ts uses,
 * with the browser's behaviours that matter (NotFoundError, one sync access handle per file, move renames).
 * `move` and the sync handles can be switched off to exercise the fallbacks, and a quota set. Not part of the public API.
 */
import type { OpfsDirectory, OpfsFileHandle, OpfsSyncAccessHandle, OpfsWritable } from './opfs-cache.js';

class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export interface FakeOpfsOptions {
  readonly move?: boolean;
  readonly syncAccess?: boolean;
  /** A file may not grow beyond this: a write past it throws QuotaExceededError, as a full origin does. */
  readonly quotaBytes?: number;
}

interface FakeFile {
  bytes: Uint8Array;
  lastModified: number;
  locked: boolean;
}

export class FakeOpfsDirectory implements OpfsDirectory {
  readonly files = new Map<string, FakeFile>();
  readonly dirs = new Map<string, FakeOpfsDirectory>();

  constructor(private readonly options: FakeOpfsOptions = {}) {}

  getDirectoryHandle(name: string, options: { readonly create?: boolean } = {}): Promise<OpfsDirectory> {
    let dir = this.dirs.get(name);
    if (dir === undefined) {
      if (options.create !== true) return Promise.reject(new NotFoundError(`no directory ${name}`));
      dir = new FakeOpfsDirectory(this.options);
      this.dirs.set(name, dir);
    }
    return Promise.resolve(dir);
  }

  getFileHandle(name: string, options: { readonly create?: boolean } = {}): Promise<OpfsFileHandle> {
    if (!this.files.has(name)) {
      if (options.create !== true) return Promise.reject(new NotFoundError(`no file ${name}`));
      this.files.set(name, { bytes: new Uint8Array(0), lastModified: Date.now(), locked: false });
    }
    return Promise.resolve(this.handle(name));
  }

  removeEntry(name: string): Promise<void> {
    if (!this.files.delete(name) && !this.dirs.delete(name)) return Promise.reject(new NotFoundError(`no entry ${name}`));
    return Promise.resolve();
  }

  async *keys(): AsyncIterable<string> {
    yield* [...this.files.keys(), ...this.dirs.keys()];
  }

  private handle(initialName: string): OpfsFileHandle {
    let name = initialName;
    const file = (): FakeFile => {
      const f = this.files.get(name);
      if (f === undefined) throw new NotFoundError(`no file ${name}`);
      return f;
    };
    const writeAt = (f: FakeFile, data: Uint8Array, at: number): void => {
      if (at + data.length > (this.options.quotaBytes ?? Infinity)) throw Object.assign(new Error(`writing ${data.length} bytes at ${at} exceeds the storage quota`), { name: 'QuotaExceededError' });
      if (at + data.length > f.bytes.length) {
        const grown = new Uint8Array(at + data.length);
        grown.set(f.bytes);
        f.bytes = grown;
      }
      f.bytes.set(data, at);
      f.lastModified = Date.now();
    };
    const handle: OpfsFileHandle = {
      getFile: () => {
        const f = file();
        return Promise.resolve(Object.assign(new Blob([f.bytes.slice()]), { lastModified: f.lastModified, name }));
      },
      createWritable: () => {
        // As in browsers: writes go to a swap copy that replaces the file on close().
        const f = file();
        const swap: FakeFile = { bytes: new Uint8Array(0), lastModified: f.lastModified, locked: false };
        const writable: OpfsWritable = {
          write: async (data) => {
            if (data instanceof Blob) writeAt(swap, new Uint8Array(await data.arrayBuffer()), swap.bytes.length);
            else writeAt(swap, data.data, data.position);
          },
          close: () => {
            file().bytes = swap.bytes;
            return Promise.resolve();
          },
          abort: () => Promise.resolve(),
        };
        return Promise.resolve(writable);
      },
    };
    if (this.options.syncAccess !== false) {
      handle.createSyncAccessHandle = () => {
        const f = file();
        if (f.locked) return Promise.reject(Object.assign(new Error(`${name} already has an open access handle`), { name: 'NoModificationAllowedError' }));
        f.locked = true;
        let open = true;
        const sync: OpfsSyncAccessHandle = {
          write: (data, { at }) => {
            if (!open) throw new Error('the access handle is closed');
            writeAt(f, data, at);
            return data.length;
          },
          truncate: (size) => {
            if (!open) throw new Error('the access handle is closed');
            const bytes = new Uint8Array(size);
            bytes.set(f.bytes.subarray(0, size));
            if (size > (this.options.quotaBytes ?? Infinity)) throw Object.assign(new Error(`a file of ${size} bytes exceeds the storage quota`), { name: 'QuotaExceededError' });
            f.bytes = bytes;
          },
          flush: () => {},
          close: () => {
            open = false;
            f.locked = false;
          },
        };
        return Promise.resolve(sync);
      };
    }
    if (this.options.move !== false) {
      handle.move = (newName: string) => {
        const f = file();
        this.files.delete(name);
        this.files.set(newName, f);
        name = newName;
        return Promise.resolve();
      };
    }
    return handle;
  }
}
