/**
 * The browser's import cache, in the Origin Private File System: the SMQ file of a GGUF model imported once
 * is loaded from OPFS next time. Entries are named as the Node cache names them, `<name>-<key>.smq`, the key
 * hashing the source's identity (URL and validator, or file name, size and date) with the SMQ format
 * version. An entry is written under a temporary name `<entry>.<hex>.tmp` and moved to its name only when the
 * import completed (a failed or aborted import deletes it; a page closed mid-import leaves a temp file that
 * the next open sweeps). Entries are checked by the SMQ checksums as they load (the header's CRC when opened,
 * each tensor's CRC as it is read); the caller removes and re-imports a damaged one.
 *
 * Written against the few OPFS calls it needs (`OpfsDirectory`), so Node tests run it over a fake.
 */
import { BlobByteSource, SMQ_VERSION, randomHex, type ByteSource, type SmqWriteTarget } from '@smallmind/io-smq';

/** The part of `FileSystemWritableFileStream` used here. */
export interface OpfsWritable {
  write(data: { readonly type: 'write'; readonly position: number; readonly data: Uint8Array } | Blob): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** The part of `FileSystemSyncAccessHandle` used here (workers only; the fast path). */
export interface OpfsSyncAccessHandle {
  write(data: Uint8Array, options: { readonly at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

/** The part of `FileSystemFileHandle` used here. */
export interface OpfsFileHandle {
  getFile(): Promise<Blob & { readonly lastModified: number }>;
  createWritable?(options?: { readonly keepExistingData?: boolean }): Promise<OpfsWritable>;
  createSyncAccessHandle?(): Promise<OpfsSyncAccessHandle>;
  /** Renames the file within its directory (Chromium 110+, Safari, Firefox 111+). */
  move?(name: string): Promise<void>;
}

/** The part of `FileSystemDirectoryHandle` used here. */
export interface OpfsDirectory {
  getFileHandle(name: string, options?: { readonly create?: boolean }): Promise<OpfsFileHandle>;
  getDirectoryHandle(name: string, options?: { readonly create?: boolean }): Promise<OpfsDirectory>;
  removeEntry(name: string): Promise<void>;
  keys(): AsyncIterable<string>;
}

/** What identifies a model's bytes without hashing them all. */
export interface SourceIdentity {
  /** A display name (the URL's last segment, a File's name). */
  readonly name: string;
  /** URL, or `file:<name>`, or `sha256:<hex>` of the bytes. */
  readonly id: string;
  readonly size: number;
  /** ETag / Last-Modified / File.lastModified: changes when the file does. */
  readonly version: string;
}

export interface OpfsCacheEntry {
  readonly name: string;
  readonly bytes: number;
  readonly lastUsedMs: number;
  /** Where it was imported from (undefined for an entry missing from the index). */
  readonly source: SourceIdentity | undefined;
}

const INDEX = 'index.json';
const TEMP = /^(.+\.smq)\.[0-9a-f]+\.tmp$/;

interface IndexRecord {
  readonly lastUsedMs: number;
  readonly source: SourceIdentity;
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NotFoundError' || (error as { code?: unknown }).code === 'ENOENT');
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The cache entry's file name for a source: `<name>-<16 hex of sha256(id, size, version, smq version)>.smq`. */
export async function cacheEntryName(source: SourceIdentity): Promise<string> {
  const key = (await sha256Hex(`${source.id}\0${source.size}\0${source.version}\0smq-v${SMQ_VERSION}`)).slice(0, 16);
  const stem = source.name.replace(/\.gguf$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'model';
  return `${stem}-${key}.smq`;
}

export class OpfsModelCache {
  private constructor(private readonly dir: OpfsDirectory) {}

  /** The cache in `root/smallmind` (the OPFS root is `navigator.storage.getDirectory()`); sweeps abandoned temp files. */
  static async open(root: OpfsDirectory, folder = 'smallmind'): Promise<OpfsModelCache> {
    const cache = new OpfsModelCache(await root.getDirectoryHandle(folder, { create: true }));
    await cache.sweep();
    return cache;
  }

  /** The OPFS root of this origin, or undefined where OPFS is missing (old browsers, some private modes). */
  static async root(): Promise<OpfsDirectory | undefined> {
    const storage = (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<OpfsDirectory> } } }).navigator?.storage;
    if (typeof storage?.getDirectory !== 'function') return undefined;
    try {
      return await storage.getDirectory();
    } catch {
      return undefined;
    }
  }

  /** Removes temp files of imports that never finished (the page was closed during an import). Returns their names. */
  async sweep(): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await this.names()) {
      if (TEMP.test(name)) {
        await this.dir.removeEntry(name).catch(() => undefined);
        removed.push(name);
      }
    }
    return removed;
  }

  private async names(): Promise<string[]> {
    const names: string[] = [];
    for await (const name of this.dir.keys()) names.push(name);
    return names;
  }

  private async readIndex(): Promise<Record<string, IndexRecord>> {
    try {
      const text = await (await (await this.dir.getFileHandle(INDEX)).getFile()).text();
      const parsed = JSON.parse(text) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, IndexRecord>) : {};
    } catch {
      // Missing or damaged: entries stay usable, only their LRU order and recorded source are lost.
      return {};
    }
  }

  private async writeIndex(index: Record<string, IndexRecord>): Promise<void> {
    // A fresh file each time: a positional write over a longer old index would leave its tail behind.
    await this.dir.removeEntry(INDEX).catch(() => undefined);
    const handle = await this.dir.getFileHandle(INDEX, { create: true });
    await writeWhole(handle, new TextEncoder().encode(JSON.stringify(index)));
  }

  /** The entry's bytes as a byte source, or undefined when there is none; marks it used. */
  async open(name: string): Promise<(ByteSource & { readonly size: number }) | undefined> {
    let file: Blob;
    try {
      file = await (await this.dir.getFileHandle(name)).getFile();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const index = await this.readIndex();
    const record = index[name];
    if (record !== undefined) {
      index[name] = { ...record, lastUsedMs: Date.now() };
      await this.writeIndex(index).catch(() => undefined);
    }
    return new BlobByteSource(file, name);
  }

  /**
   * A write target for entry `name` (see io-smq's SmqWriter.createOn): data goes to `<name>.<hex>.tmp`;
   * `commit()` moves it to `name` (replacing an older entry) and records `source`; `abort()` deletes it.
   */
  target(name: string, source: SourceIdentity): (fileLength: number) => Promise<SmqWriteTarget> {
    return async (fileLength) => {
      const tempName = `${name}.${randomHex(6)}.tmp`;
      const handle = await this.dir.getFileHandle(tempName, { create: true });
      let writer: PositionalWriter;
      try {
        writer = await openWriter(handle, fileLength);
      } catch (error) {
        await this.dir.removeEntry(tempName).catch(() => undefined);
        throw error;
      }
      let state: 'open' | 'committed' | 'aborted' = 'open';
      const discard = async (): Promise<void> => {
        await writer.abort().catch(() => undefined);
        await this.dir.removeEntry(tempName).catch(() => undefined);
      };
      return {
        path: name,
        tempPath: tempName,
        write: (bytes, position) => writer.write(bytes, position),
        commit: async () => {
          if (state !== 'open') throw new Error(`the OPFS entry ${name} was already ${state}`);
          state = 'committed';
          try {
            await writer.close();
            await this.dir.removeEntry(name).catch((error: unknown) => {
              if (!isNotFound(error)) throw error;
            });
            await this.publish(handle, tempName, name);
            const index = await this.readIndex();
            index[name] = { lastUsedMs: Date.now(), source };
            await this.writeIndex(index);
          } catch (error) {
            await this.dir.removeEntry(tempName).catch(() => undefined);
            throw error;
          }
        },
        abort: async () => {
          if (state !== 'open') return;
          state = 'aborted';
          await discard();
        },
      };
    };
  }

  /** Moves the finished temp file to its name: a rename where OPFS has one, else a copy and a delete. */
  private async publish(handle: OpfsFileHandle, tempName: string, name: string): Promise<void> {
    if (typeof handle.move === 'function') {
      await handle.move(name);
      return;
    }
    const target = await this.dir.getFileHandle(name, { create: true });
    const writable = await target.createWritable?.({ keepExistingData: false });
    if (writable === undefined) throw new Error('this browser can neither rename nor stream-write OPFS files');
    await writable.write(await handle.getFile());
    await writable.close();
    await this.dir.removeEntry(tempName);
  }

  /** Every entry, most recently used first. */
  async list(): Promise<OpfsCacheEntry[]> {
    const index = await this.readIndex();
    const entries: OpfsCacheEntry[] = [];
    for (const name of await this.names()) {
      if (!name.endsWith('.smq')) continue;
      const file = await (await this.dir.getFileHandle(name)).getFile();
      const record = index[name];
      entries.push({ name, bytes: file.size, lastUsedMs: record?.lastUsedMs ?? file.lastModified, source: record?.source });
    }
    return entries.sort((a, b) => b.lastUsedMs - a.lastUsedMs);
  }

  /** Removes an entry (no error when it is not there). */
  async evict(name: string): Promise<void> {
    await this.dir.removeEntry(name).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
    const index = await this.readIndex();
    if (name in index) {
      delete index[name];
      await this.writeIndex(index);
    }
  }

  /** Evicts the least recently used entries (except `keep`) until the cache holds at most `maxBytes`; returns the evicted. */
  async prune(maxBytes: number, keep: readonly string[] = []): Promise<OpfsCacheEntry[]> {
    const entries = await this.list();
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    const evicted: OpfsCacheEntry[] = [];
    for (const entry of [...entries].reverse()) {
      if (total <= maxBytes) break;
      if (keep.includes(entry.name)) continue;
      await this.evict(entry.name);
      total -= entry.bytes;
      evicted.push(entry);
    }
    return evicted;
  }

  /** Removes every entry. */
  async clear(): Promise<void> {
    for (const entry of await this.list()) await this.evict(entry.name);
  }
}

interface PositionalWriter {
  write(bytes: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

/** A sync access handle where there is one (dedicated workers: no copy, no swap file), else a writable stream. */
/**
 * A positional writer on `handle`: its sync access handle where there is one (a worker), else a writable
 * stream. `fileLength`, when known, sizes the file up front: Chromium then writes twice as fast (122 vs 62
 * MB/s on the test VM: a growing file asks the quota system for room write after write), and a file that
 * will not fit fails at once with QuotaExceededError instead of after most of it was written.
 */
async function openWriter(handle: OpfsFileHandle, fileLength?: number): Promise<PositionalWriter> {
  if (typeof handle.createSyncAccessHandle === 'function') {
    const sync = await handle.createSyncAccessHandle();
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      sync.close();
    };
    if (fileLength !== undefined) {
      try {
        sync.truncate(fileLength);
      } catch (error) {
        close();
        throw error;
      }
    }
    return {
      write: (bytes, position) => {
        for (let done = 0; done < bytes.length; ) {
          const n = sync.write(bytes.subarray(done), { at: position + done });
          if (n <= 0) return Promise.reject(new Error(`OPFS wrote ${n} bytes at ${position + done} (is the storage quota exhausted?)`));
          done += n;
        }
        return Promise.resolve();
      },
      close: () => {
        sync.flush();
        close();
        return Promise.resolve();
      },
      abort: () => {
        close();
        return Promise.resolve();
      },
    };
  }
  if (typeof handle.createWritable !== 'function') throw new Error('this browser cannot write OPFS files');
  const writable = await handle.createWritable({ keepExistingData: false });
  return {
    write: (bytes, position) => writable.write({ type: 'write', position, data: bytes }),
    close: () => writable.close(),
    abort: () => writable.abort(),
  };
}

async function writeWhole(handle: OpfsFileHandle, bytes: Uint8Array): Promise<void> {
  const writer = await openWriter(handle);
  try {
    await writer.write(bytes, 0);
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
