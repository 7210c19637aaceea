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
import { AtomicFile, SmqWriter, type ByteSource } from '@smallmind/io-smq';
import { checkImportOptions, GgufSourceImporter, type GgufImportOptions, type GgufImportResult } from './import-core.js';
import { openGguf, readGguf, type ReadGgufOptions } from './reader.js';

export type { GgufImportOptions, GgufImportProgress, GgufImportResult } from './import-core.js';


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

/** An open GGUF file ready to be imported; inspect `gguf` first if useful. Close it when done. */
export class GgufImporter extends GgufSourceImporter {
  static async open(sourcePath: string, options: ReadGgufOptions = {}): Promise<GgufImporter> {
    return new GgufImporter(await readGguf(sourcePath, options), sourcePath);
  }

  /** Imports from any byte source (a URL, a Blob, bytes in memory); `name` is recorded as the source file name. */
  static override async fromSource(source: ByteSource, name: string, options: ReadGgufOptions = {}): Promise<GgufImporter> {
    return new GgufImporter(await openGguf(source, options), name);
  }

  /** Writes the SMQ file at `destination`: every tensor (type, shape, bytes) and every metadata entry. */
  async importTo(destination: string, options: GgufImportOptions = {}): Promise<GgufImportResult> {
    const chunkBytes = checkImportOptions(options);
    await sweepAbandonedImports(dirname(destination), { destination });
    const release = await holdImportLock(destination);
    try {
      return await this.copyOnto((declarations) => SmqWriter.create(destination, { ...declarations, ...(options.overwrite === undefined ? {} : { overwrite: options.overwrite }) }), options, chunkBytes);
    } finally {
      await release();
    }
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
