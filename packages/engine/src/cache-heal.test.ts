import { copyFile, mkdtemp, open, readdir, rm, stat, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmqReader } from '@smallmind/io-smq';
import { silentLogger, type Logger } from '@smallmind/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmallMindEngine } from './index.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const q4Gguf = join(fixtures, 'stories260K/stories260K-Q4_0.gguf');

let dir: string;
let cacheDir: string;
let gguf: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smallmind-heal-'));
  cacheDir = join(dir, 'cache');
  gguf = join(dir, 'model.gguf');
  await copyFile(q4Gguf, gguf);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { ...silentLogger, warn: (m) => warnings.push(m), warnings };
}

/** Imports `gguf` into the cache and returns the entry's path and a reference continuation. */
async function primeCache(): Promise<{ smqPath: string; tokens: number[] }> {
  const engine = new SmallMindEngine({ cacheDir, logger: silentLogger, kernels: 'reference', threads: 1 });
  try {
    const info = await engine.loadModel({ path: gguf });
    expect(info.imported).toBe(true);
    const { tokens } = await engine.generate('Once upon a time', { maxTokens: 6 });
    return { smqPath: info.smqPath, tokens };
  } finally {
    await engine.dispose();
  }
}

async function flipByte(path: string, offset: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = new Uint8Array(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, offset);
  } finally {
    await handle.close();
  }
}

describe('a damaged cache entry', () => {
  const damages: Array<[string, (smqPath: string) => Promise<void>, RegExp]> = [
    ['truncated', async (smqPath) => truncate(smqPath, Math.floor((await stat(smqPath)).size / 2)), /TRUNCATED/],
    [
      'with a flipped tensor byte',
      async (smqPath) => {
        const reader = await SmqReader.open(smqPath);
        const tensor = reader.tensors.find((t) => t.shape.length === 2)!;
        await reader.close();
        await flipByte(smqPath, tensor.offset + Math.floor(tensor.byteLength / 2));
      },
      /TENSOR_CHECKSUM_MISMATCH/,
    ],
    ['with a flipped header byte', (smqPath) => flipByte(smqPath, 40), /CHECKSUM|BAD_|MISMATCH/],
  ];

  it.each(damages)('%s is re-imported from its GGUF with one warning naming the file and the reason', async (_name, damage, reason) => {
    const { smqPath, tokens } = await primeCache();
    await damage(smqPath);
    const logger = recordingLogger();
    const engine = new SmallMindEngine({ cacheDir, logger, kernels: 'reference', threads: 1 });
    try {
      const info = await engine.loadModel({ path: gguf });
      expect(info.imported).toBe(true);
      expect(info.smqPath).toBe(smqPath);
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]).toContain(smqPath);
      expect(logger.warnings[0]).toMatch(reason);
      expect((await engine.generate('Once upon a time', { maxTokens: 6 })).tokens).toEqual(tokens);
      // The healed entry is a plain cache hit next time.
      const again = await engine.loadModel({ path: gguf });
      expect(again.imported).toBe(false);
      expect(logger.warnings).toHaveLength(1);
    } finally {
      await engine.dispose();
    }
  });

  it('loaded by its own .smq path also heals from the recorded GGUF', async () => {
    const { smqPath, tokens } = await primeCache();
    await truncate(smqPath, 1000);
    const logger = recordingLogger();
    const engine = new SmallMindEngine({ cacheDir, logger, kernels: 'reference', threads: 1 });
    try {
      const info = await engine.loadModel({ path: smqPath });
      expect(info.imported).toBe(true);
      expect(logger.warnings).toHaveLength(1);
      expect((await engine.generate('Once upon a time', { maxTokens: 6 })).tokens).toEqual(tokens);
    } finally {
      await engine.dispose();
    }
  });

  it('whose GGUF is gone fails with CACHE_ENTRY_CORRUPT naming the file and the command that clears it', async () => {
    const { smqPath } = await primeCache();
    await truncate(smqPath, 1000);
    await unlink(gguf);
    const engine = new SmallMindEngine({ cacheDir, logger: silentLogger, kernels: 'reference', threads: 1 });
    const error = await engine.loadModel({ path: smqPath }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'EngineError', code: 'CACHE_ENTRY_CORRUPT', field: 'path' });
    expect((error as Error).message).toContain(smqPath);
    expect((error as Error).message).toContain(`smallmind cache clear --cache-dir ${cacheDir}`);
    expect((error as Error).message).toContain('TRUNCATED');
  });

  it('that is not a cache entry (a user SMQ file) keeps its own format error and is never deleted', async () => {
    const { smqPath } = await primeCache();
    const own = join(dir, 'own.smq');
    await copyFile(smqPath, own);
    await truncate(own, 1000);
    const engine = new SmallMindEngine({ cacheDir, logger: silentLogger, kernels: 'reference', threads: 1 });
    await expect(engine.loadModel({ path: own })).rejects.toMatchObject({ name: 'SmqFormatError', code: 'TRUNCATED' });
    expect((await stat(own)).size).toBe(1000);
    expect((await readdir(dir)).sort()).toEqual(['cache', 'model.gguf', 'own.smq']);
  });
});
