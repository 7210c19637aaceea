/**
 * GGUF -> SMQ import. Tensor bytes are copied exactly (quantized blocks stay as they are) in bounded
 * chunks, so memory stays constant whatever the model size; reading the next chunk overlaps writing the
 * current one. The SMQ file is written through io-smq's atomic `SmqWriter`: it appears only when the
 * import completed, and any failure (abort signal, a throwing progress callback, an I/O error) removes
 * the partial file, and so does SIGINT/SIGTERM/SIGHUP (io-smq's `AtomicFile`). Only SIGKILL or a crash can
 * leave the temporary file behind; while importing, the process holds a lock file naming its pid next to
 * the destination, so `sweepAbandonedImports` can later remove temporary files whose importer is dead
 * without touching a concurrent import of the same model.
 */
import { randomBytes } from 'node:crypto';
import { readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AtomicFile, SmqWriter } from '@smallmind/io-smq';
import type { SmqProvenance } from '@smallmind/io-smq';
import type { GgufTensorInfo } from './header-parser.js';
import { readGguf } from './reader.js';
import type { GgufFile, ReadGgufOptions } from './reader.js';

export interface GgufImportProgress {
  /** Tensor bytes copied so far. */
  readonly bytesDone: number;
  /** Tensor bytes to copy in total. */
  readonly bytesTotal: number;
  /** Tensors completely copied. */
  readonly tensorsDone: number;
  readonly tensorsTotal: number;
  /** The tensor the last chunk belonged to. */
  readonly tensorName: string;
}

export interface GgufImportOptions {
  /** Replace an existing SMQ file at the destination (default false: io-smq's TARGET_EXISTS). */
  readonly overwrite?: boolean;
  /** Aborting stops the import at the next chunk and leaves no file behind; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called after every chunk. If it throws, the import is abandoned and the error propagates. */
  readonly onProgress?: (progress: GgufImportProgress) => void;
  /** Size of each copy buffer (two are used). Default 16 MiB. */
  readonly chunkBytes?: number;
  /** Extra provenance fields for the SMQ file; source name and size and the importer name are filled in. */
  readonly provenance?: SmqProvenance;
}

export interface GgufImportResult {
  readonly tensors: number;
  /** Tensor bytes copied. */
  readonly bytes: number;
}

const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;
const IMPORTER_NAME = '@smallmind/io-gguf';

/** `<name>.smq.<hex>.tmp`: the SMQ writer's temporary file for `<name>.smq`. */
const TEMP_FILE = /^(.+)\.[0-9a-f]+\.tmp$/;
/** `<name>.smq.<pid>-<nonce>.import-lock`: held by the process importing into `<name>.smq`. */
const LOCK_FILE = /^(.+)\.(\d+)-[0-9a-f]+\.import-lock$/;
/**
 * A temporary file nobody wrote to for this long is abandoned even if its owner's pid is alive (pids get
 * reused); a running import writes every chunk, so it never gets near this.
 */
const ABANDONED_TEMP_MS = 60 * 60 * 1000;

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

async function removeIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export interface SweepOptions {
  /** Only sweep what belongs to imports into this file (default: every import into `dir`). */
  readonly destination?: string;
  /** The current time, for the age rule (default `Date.now()`). */
  readonly now?: number;
}

/**
 * Removes the temporary files of imports into `dir` that no live process owns (the importer was killed
 * or crashed) and the lock files of dead importers. A temporary file is kept while a live process holds
 * a lock on its destination, so two concurrent imports of one model both complete. Returns the removed
 * paths; a missing `dir` has nothing to sweep.
 */
export async function sweepAbandonedImports(dir: string, options: SweepOptions = {}): Promise<string[]> {
  const now = options.now ?? Date.now();
  const only = options.destination === undefined ? undefined : basename(options.destination);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const liveDestinations = new Set<string>();
  const removed: string[] = [];
  for (const name of names) {
    const lock = LOCK_FILE.exec(name);
    if (lock === null || (only !== undefined && lock[1] !== only)) continue;
    if (isAlive(Number(lock[2]))) liveDestinations.add(lock[1]!);
    else if (await removeIfPresent(join(dir, name))) removed.push(join(dir, name));
  }
  for (const name of names) {
    const temp = TEMP_FILE.exec(name);
    if (temp === null || !temp[1]!.endsWith('.smq') || (only !== undefined && temp[1] !== only)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) continue;
    const abandoned = now - info.mtimeMs > ABANDONED_TEMP_MS;
    if ((abandoned || !liveDestinations.has(temp[1]!)) && (await removeIfPresent(path))) removed.push(path);
  }
  return removed;
}

/** Marks `destination` as being imported by this process until the returned function runs (or the process ends). */
async function holdImportLock(destination: string): Promise<() => Promise<void>> {
  const lock = `${destination}.${process.pid}-${randomBytes(4).toString('hex')}.import-lock`;
  await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
  const untrack = AtomicFile.removeOnExit(lock);
  return async () => {
    await removeIfPresent(lock).catch(() => undefined);
    untrack();
  };
}

/** One contiguous piece of one tensor, at most `chunkBytes` long. */
interface CopyPiece {
  readonly tensor: GgufTensorInfo;
  readonly tensorIndex: number;
  readonly position: number;
  readonly length: number;
  /** This piece completes its tensor. */
  readonly last: boolean;
}

function* pieces(tensors: readonly GgufTensorInfo[], chunkBytes: number): Generator<CopyPiece> {
  for (let tensorIndex = 0; tensorIndex < tensors.length; tensorIndex++) {
    const tensor = tensors[tensorIndex]!;
    for (let done = 0; done < tensor.byteLength; done += chunkBytes) {
      const length = Math.min(chunkBytes, tensor.byteLength - done);
      yield { tensor, tensorIndex, position: tensor.offset + done, length, last: done + length === tensor.byteLength };
    }
  }
}

/** An open GGUF file ready to be imported; inspect `gguf` first if useful. Close it when done. */
export class GgufImporter {
  private constructor(
    /** The source file (header parsed, data not read). */
    readonly gguf: GgufFile,
    readonly sourcePath: string,
  ) {}

  static async open(sourcePath: string, options: ReadGgufOptions = {}): Promise<GgufImporter> {
    return new GgufImporter(await readGguf(sourcePath, options), sourcePath);
  }

  /** Tensor bytes an import copies. */
  get bytesTotal(): number {
    return this.gguf.tensors.reduce((sum, t) => sum + t.byteLength, 0);
  }

  /** Writes the SMQ file at `destination`: every tensor (type, shape, bytes) and every metadata entry. */
  async importTo(destination: string, options: GgufImportOptions = {}): Promise<GgufImportResult> {
    const { signal } = options;
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
    signal?.throwIfAborted();
    await sweepAbandonedImports(dirname(destination), { destination });
    const release = await holdImportLock(destination);
    try {
      return await this.copyInto(destination, options, chunkBytes);
    } finally {
      await release();
    }
  }

  private async copyInto(destination: string, options: GgufImportOptions, chunkBytes: number): Promise<GgufImportResult> {
    const { signal, onProgress } = options;
    const tensors = this.gguf.tensors;
    const writer = await SmqWriter.create(destination, {
      metadata: this.gguf.metadata,
      tensors: tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, byteLength: t.byteLength })),
      provenance: { sourceFileName: basename(this.sourcePath), sourceFileSize: this.gguf.fileSize, importerName: IMPORTER_NAME, ...options.provenance },
      ...(options.overwrite === undefined ? {} : { overwrite: options.overwrite }),
    });
    let pending: Promise<Uint8Array> | undefined;
    try {
      const bytesTotal = this.bytesTotal;
      let bytesDone = 0;
      const largest = Math.max(0, ...tensors.map((t) => t.byteLength));
      const size = Math.min(chunkBytes, largest);
      const buffers = [new Uint8Array(size), new Uint8Array(size)] as const;
      const read = async (piece: CopyPiece, buffer: Uint8Array): Promise<Uint8Array> => {
        const target = buffer.subarray(0, piece.length);
        await this.gguf.readRange(target, piece.position);
        return target;
      };
      const plan = pieces(tensors, size);
      let current = plan.next();
      pending = current.done ? undefined : read(current.value, buffers[0]);
      for (let i = 0; !current.done; i++) {
        const piece: CopyPiece = current.value;
        const chunk = await pending!;
        signal?.throwIfAborted();
        // Read ahead into the other buffer while this one is written.
        current = plan.next();
        pending = current.done ? undefined : read(current.value, buffers[(i + 1) % 2]!);
        // A rejected read-ahead is awaited (and thrown) on the next turn; keep it from counting as unhandled meanwhile.
        pending?.catch(() => undefined);
        await writer.writeTensorData(piece.tensor.name, chunk);
        bytesDone += chunk.length;
        onProgress?.({ bytesDone, bytesTotal, tensorsDone: piece.tensorIndex + (piece.last ? 1 : 0), tensorsTotal: tensors.length, tensorName: piece.tensor.name });
      }
      signal?.throwIfAborted();
      await writer.finish();
      return { tensors: tensors.length, bytes: bytesDone };
    } catch (error) {
      await pending?.catch(() => undefined); // no read may still be filling a buffer once we return
      await writer.abort();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.gguf.close();
  }
}

/** Imports the GGUF file at `source` into a new SMQ file at `destination` (see `GgufImporter.importTo`). */
export async function importGgufToSmq(source: string, destination: string, options: GgufImportOptions = {}): Promise<GgufImportResult> {
  const importer = await GgufImporter.open(source);
  try {
    return await importer.importTo(destination, options);
  } finally {
    await importer.close();
  }
}
