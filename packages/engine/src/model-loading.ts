/**
 * Opening a model file: on the caller's thread a GGUF is imported into the SMQ cache once (then reused; the
 * cache is held to its size cap); in the inference worker the SMQ file is loaded onto a fresh kernel backend
 * with progress; a cache entry found damaged while loading (truncated, flipped bytes) is removed and
 * re-imported from its GGUF once, with one WARN naming the file and the reason.
 */
import { stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { FileByteSource, SmqFormatError } from '@smallmind/io-smq';
import type { Logger } from '@smallmind/runtime';
import { EngineError } from './errors.js';
import { cacheEntrySource, ensureImported, pruneCache, removeCacheEntry } from './model-cache.js';
import { forwardingLogger, loadSmq, type OpenHooks, type OpenedModel } from './model-open.js';
import type { WorkerLoadOptions } from './worker/protocol.js';

export type { OpenHooks, OpenedModel } from './model-open.js';

/** Checks the path on the caller's side too, so the common mistakes fail fast with an EngineError. */
export async function checkModelPath(path: string): Promise<'.gguf' | '.smq'> {
  const kind = extname(path).toLowerCase();
  if (kind !== '.gguf' && kind !== '.smq') {
    throw new EngineError('UNSUPPORTED_MODEL_FILE', 'path', `model file "${path}" must end in .gguf or .smq`);
  }
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile() !== true) throw new EngineError('MODEL_NOT_FOUND', 'path', `model file "${path}" does not exist or is not a file`);
  return kind;
}

/** Where a model's SMQ file is, and where it came from. */
export interface ModelFile {
  readonly smqPath: string;
  /** This call imported the GGUF (false: a cache hit, or an SMQ path). */
  readonly imported: boolean;
  /** The GGUF a damaged cache entry can be re-imported from (undefined: the SMQ file is the user's own). */
  readonly source: string | undefined;
}

export interface ResolveOptions {
  readonly path: string;
  readonly cacheDir: string;
  readonly cacheMaxBytes?: number;
}

/**
 * Runs on the caller's thread (signals reach only the main thread, and an interrupted import must remove
 * its temporary file): a GGUF is imported into the cache once, then reused, and the cache is held to its cap.
 */
export async function resolveModelFile(options: ResolveOptions, logger: Logger, onProgress?: (done: number, total: number, items: number, itemsTotal: number) => void): Promise<ModelFile> {
  const kind = await checkModelPath(options.path);
  if (kind === '.gguf') return { ...(await importCached(options.path, options, logger, onProgress)), source: options.path };
  return { smqPath: options.path, imported: false, source: (await cacheEntrySource(options.path))?.path };
}

async function importCached(
  ggufPath: string,
  options: ResolveOptions,
  logger: Logger,
  onProgress?: (done: number, total: number, items: number, itemsTotal: number) => void,
): Promise<{ smqPath: string; imported: boolean }> {
  const result = await ensureImported(ggufPath, options.cacheDir, (p) => onProgress?.(p.bytesDone, p.bytesTotal, p.tensorsDone, p.tensorsTotal));
  logger.info(result.imported ? `imported ${ggufPath} -> ${result.smqPath}` : `using cached import ${result.smqPath}`);
  if (options.cacheMaxBytes !== undefined) {
    const pruned = await pruneCache(options.cacheDir, { maxBytes: options.cacheMaxBytes, keep: [result.smqPath] });
    for (const entry of pruned.removed) logger.info(`cache: evicted ${entry.smqPath} (${entry.bytes} bytes)`);
  }
  return result;
}

/**
 * A cache entry found damaged while loading (truncated, flipped bytes: its header check or a tensor CRC
 * failed; checking every checksum up front would cost a full extra read, so the load itself is the check) is
 * removed and re-imported from its GGUF, with one WARN naming the file and the reason. Returns the new file, or
 * undefined when `error` is not such a case (the caller rethrows it).
 */
export async function healModelFile(file: ModelFile, error: unknown, options: ResolveOptions, logger: Logger, statBefore: { ino: number; mtimeMs: number } | undefined): Promise<ModelFile | undefined> {
  const isFormatError = error instanceof SmqFormatError || (error instanceof Error && error.name === 'SmqFormatError');
  if (!isFormatError || file.imported || file.source === undefined) return undefined;
  const { smqPath, source } = file;
  const reason = (error as Error).message;
  if ((await stat(source).catch(() => undefined))?.isFile() !== true) {
    throw new EngineError(
      'CACHE_ENTRY_CORRUPT',
      'path',
      `the cached model ${smqPath} is damaged (${reason}) and its source ${source} is gone; ` +
        `remove it with \`smallmind cache clear --cache-dir ${dirname(smqPath)}\` (or \`rm ${smqPath}\`)`,
    );
  }
  logger.warn(`the cached model ${smqPath} is damaged (${reason}); removing it and re-importing ${source}`);
  // Another process may have healed it already: only remove the very file that failed.
  const now = await stat(smqPath).catch(() => undefined);
  if (now !== undefined && now.ino === statBefore?.ino && now.mtimeMs === statBefore.mtimeMs) await removeCacheEntry(smqPath);
  return { ...(await importCached(source, options, logger)), source };
}

/** Identity of a file before a load, so healing removes only the very file that failed. */
export async function fileIdentity(path: string): Promise<{ ino: number; mtimeMs: number } | undefined> {
  const info = await stat(path).catch(() => undefined);
  return info === undefined ? undefined : { ino: info.ino, mtimeMs: info.mtimeMs };
}

/** The worker's part: an SMQ file onto a fresh kernel backend, with progress. */
export async function openModel(options: WorkerLoadOptions, hooks: OpenHooks): Promise<OpenedModel> {
  const path = options.path;
  if (path === undefined) throw new EngineError('INVALID_OPTION', 'path', 'the Node inference worker loads SMQ files by path; no path was given');
  const logger = forwardingLogger(options.logLevel, hooks.log);
  return { ...(await loadSmq(() => FileByteSource.open(path), path, options, logger, hooks)), smqPath: path, imported: false };
}

