import { createHash } from 'node:crypto';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { importGgufToSmq, type GgufImportProgress } from '@smallmind/io-gguf';
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

/**
 * Returns an SMQ path for `ggufPath`, importing it first when the cache has no copy. The import
 * is atomic, so a crashed or concurrent import never leaves a half-written cache entry.
 */
export async function ensureImported(
  ggufPath: string,
  cacheDir: string,
  onProgress?: (progress: GgufImportProgress) => void,
): Promise<{ smqPath: string; imported: boolean }> {
  const smqPath = await cachedSmqPath(ggufPath, cacheDir);
  const existing = await stat(smqPath).catch(() => undefined);
  if (existing?.isFile() === true) return { smqPath, imported: false };
  await mkdir(cacheDir, { recursive: true });
  try {
    await importGgufToSmq(ggufPath, smqPath, onProgress === undefined ? {} : { onProgress });
  } catch (error) {
    // Another process may have finished the same import first; its file is as good as ours.
    if ((await stat(smqPath).catch(() => undefined))?.isFile() === true) return { smqPath, imported: false };
    throw error;
  }
  return { smqPath, imported: true };
}
