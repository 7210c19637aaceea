/**
 * The cache of SMQ files imported from GGUF files. Each entry is `<name>-<key>.smq` plus a small
 * `<name>-<key>.smq.json` record of its source (real path, size, modification time) whose modification
 * time is the entry's last use. Every import sweeps the directory first (io-gguf's `sweepAbandonedImports`):
 * temporary files of killed imports go, those of concurrent live imports stay.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, realpath, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { importGgufToSmq, sweepAbandonedImports, type GgufImportProgress } from '@smallmind/io-gguf';
import { SMQ_VERSION } from '@smallmind/io-smq';

/** Where imported GGUF files are kept: `$SMALLMIND_CACHE_DIR`, else `~/.cache/smallmind`. */
export function defaultCacheDir(): string {
  return process.env['SMALLMIND_CACHE_DIR'] ?? join(homedir(), '.cache', 'smallmind');
}

/**
 * The SMQ file a GGUF file imports to. The name is keyed by the source's real path, size and
 * modification time and by the SMQ format version, so an edited or replaced GGUF (or a format
 * change) gets a fresh import instead of a stale one, without hashing gigabytes on every load.
 */
export async function cachedSmqPath(ggufPath: string, cacheDir: string): Promise<string> {
  const real = await realpath(ggufPath);
  const info = await stat(real);
  const key = createHash('sha256').update(`${real}\0${info.size}\0${info.mtimeMs}\0smq-v${SMQ_VERSION}`).digest('hex').slice(0, 16);
  return join(cacheDir, `${basename(real).replace(/\.gguf$/i, '')}-${key}.smq`);
}

/** What the cache records about an entry's source, next to the entry. */
export interface CacheEntrySource {
  /** Real path of the GGUF file the entry was imported from. */
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface CacheEntry {
  readonly smqPath: string;
  /** Size of the SMQ file. */
  readonly bytes: number;
  /** When a load last used the entry (or when it was written). */
  readonly lastUsedMs: number;
  /** Undefined for an entry without its record (written by an older version). */
  readonly source: CacheEntrySource | undefined;
  /**
   * `current`: the source is unchanged, loading it uses this entry; `stale`: the source was modified or
   * replaced since (its next load imports afresh); `orphaned`: the source is gone; `unknown`: no record.
   */
  readonly status: 'current' | 'stale' | 'orphaned' | 'unknown';
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

const recordPath = (smqPath: string): string => `${smqPath}.json`;

async function readRecord(smqPath: string): Promise<CacheEntrySource | undefined> {
  try {
    const parsed = JSON.parse(await readFile(recordPath(smqPath), 'utf8')) as Partial<CacheEntrySource>;
    if (typeof parsed.path !== 'string' || typeof parsed.size !== 'number' || typeof parsed.mtimeMs !== 'number') return undefined;
    return { path: parsed.path, size: parsed.size, mtimeMs: parsed.mtimeMs };
  } catch {
    // Missing or unreadable: an entry from before records existed, or a damaged record; either way unknown.
    return undefined;
  }
}

/** The recorded source of a cache entry, if `smqPath` is one (undefined for other SMQ files). */
export async function cacheEntrySource(smqPath: string): Promise<CacheEntrySource | undefined> {
  return readRecord(smqPath);
}

/**
 * Removes temporary files of imports into the cache that no live process owns (see io-gguf's
 * `sweepAbandonedImports`); returns the removed paths.
 */
export function sweepStaleTempFiles(cacheDir: string): Promise<string[]> {
  return sweepAbandonedImports(cacheDir);
}

/** Marks an entry as just used (the LRU order of `pruneCache`). */
export async function touchCacheEntry(smqPath: string): Promise<void> {
  const now = new Date();
  await utimes(recordPath(smqPath), now, now).catch(() => undefined);
}

/** Removes an entry and its record. */
export async function removeCacheEntry(smqPath: string): Promise<void> {
  await rm(smqPath, { force: true });
  await rm(recordPath(smqPath), { force: true });
}

/** Every entry of the cache, most recently used first. */
export async function listCache(cacheDir: string): Promise<CacheEntry[]> {
  const entries: CacheEntry[] = [];
  for (const name of await listDir(cacheDir)) {
    if (!name.endsWith('.smq')) continue;
    const smqPath = join(cacheDir, name);
    const info = await stat(smqPath).catch(() => undefined);
    if (info?.isFile() !== true) continue;
    const source = await readRecord(smqPath);
    const used = source === undefined ? undefined : await stat(recordPath(smqPath)).catch(() => undefined);
    let status: CacheEntry['status'] = 'unknown';
    if (source !== undefined) {
      const current = await cachedSmqPath(source.path, cacheDir).catch(() => undefined);
      status = current === undefined ? 'orphaned' : current === smqPath ? 'current' : 'stale';
    }
    entries.push({ smqPath, bytes: info.size, lastUsedMs: Math.max(info.mtimeMs, used?.mtimeMs ?? 0), source, status });
  }
  return entries.sort((a, b) => b.lastUsedMs - a.lastUsedMs);
}

export interface PruneOptions {
  /** Evict least recently used entries until the cache holds at most this many bytes. */
  readonly maxBytes?: number;
  /** Entries never evicted (the one being loaded). */
  readonly keep?: readonly string[];
}

export interface PruneResult {
  readonly removed: CacheEntry[];
  /** Stale temporary and lock files removed. */
  readonly tempFiles: string[];
  /** Bytes the remaining entries hold. */
  readonly bytesKept: number;
}

/**
 * Removes entries no load can use any more (source gone, or modified since: `stale`/`orphaned`),
 * abandoned temporary files, and, with `maxBytes`, the least recently used entries beyond that size.
 */
export async function pruneCache(cacheDir: string, options: PruneOptions = {}): Promise<PruneResult> {
  const tempFiles = await sweepAbandonedImports(cacheDir);
  const keep = new Set(options.keep ?? []);
  const removed: CacheEntry[] = [];
  const kept: CacheEntry[] = [];
  for (const entry of await listCache(cacheDir)) {
    if (!keep.has(entry.smqPath) && (entry.status === 'stale' || entry.status === 'orphaned')) {
      await removeCacheEntry(entry.smqPath);
      removed.push(entry);
    } else kept.push(entry);
  }
  let bytesKept = kept.reduce((sum, e) => sum + e.bytes, 0);
  if (options.maxBytes !== undefined) {
    // kept is most recently used first: evict from its end.
    for (let i = kept.length - 1; i >= 0 && bytesKept > options.maxBytes; i--) {
      const entry = kept[i]!;
      if (keep.has(entry.smqPath)) continue;
      await removeCacheEntry(entry.smqPath);
      removed.push(entry);
      bytesKept -= entry.bytes;
    }
  }
  return { removed, tempFiles, bytesKept };
}

/** Removes every entry and every temporary file no live import owns. */
export async function clearCache(cacheDir: string): Promise<PruneResult> {
  const tempFiles = await sweepAbandonedImports(cacheDir);
  const removed = await listCache(cacheDir);
  for (const entry of removed) await removeCacheEntry(entry.smqPath);
  // Records whose SMQ file is already gone.
  for (const name of await listDir(cacheDir)) {
    if (!name.endsWith('.smq.json')) continue;
    await rm(join(cacheDir, name), { force: true });
    tempFiles.push(join(cacheDir, name));
  }
  return { removed, tempFiles, bytesKept: 0 };
}

/**
 * Returns an SMQ path for `ggufPath`, importing it first when the cache has no copy. Stale temporary
 * files are swept first. The import is atomic, so a crashed or concurrent import never leaves a
 * half-written cache entry, and its temporary file is removed on SIGINT/SIGTERM or failure.
 */
export async function ensureImported(
  ggufPath: string,
  cacheDir: string,
  onProgress?: (progress: GgufImportProgress) => void,
): Promise<{ smqPath: string; imported: boolean }> {
  const smqPath = await cachedSmqPath(ggufPath, cacheDir);
  await sweepAbandonedImports(cacheDir);
  const existing = await stat(smqPath).catch(() => undefined);
  if (existing?.isFile() === true) {
    await touchCacheEntry(smqPath);
    return { smqPath, imported: false };
  }
  await mkdir(cacheDir, { recursive: true });
  const real = await realpath(ggufPath);
  const source = await stat(real);
  try {
    await importGgufToSmq(ggufPath, smqPath, onProgress === undefined ? {} : { onProgress });
  } catch (error) {
    // Another process may have finished the same import first; its file is as good as ours.
    if ((await stat(smqPath).catch(() => undefined))?.isFile() === true) return { smqPath, imported: false };
    throw error;
  }
  const record: CacheEntrySource & { smqVersion: number; importedAt: string } = {
    path: real,
    size: source.size,
    mtimeMs: source.mtimeMs,
    smqVersion: SMQ_VERSION,
    importedAt: new Date().toISOString(),
  };
  await writeFile(recordPath(smqPath), `${JSON.stringify(record, null, 2)}\n`);
  return { smqPath, imported: true };
}
