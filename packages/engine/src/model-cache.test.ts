import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@smallmind/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SmallMindEngine } from './index.js';
import { clearCache, ensureImported, listCache, pruneCache, sweepStaleTempFiles } from './model-cache.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const q4Gguf = join(fixtures, 'stories260K/stories260K-Q4_0.gguf');

let dir: string;
let cacheDir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smallmind-cache-'));
  cacheDir = join(dir, 'cache');
  await mkdir(cacheDir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A pid no process has any more: a child that already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

async function ggufCopy(name: string): Promise<string> {
  const path = join(dir, name);
  await copyFile(q4Gguf, path);
  return path;
}

describe('sweepStaleTempFiles', () => {
  it('removes temp files no live process owns and dead owners locks, keeping a live import and unrelated files', async () => {
    const names = {
      orphanTemp: 'a-0123.smq.aa11.tmp',
      deadTemp: 'b-0123.smq.bb22.tmp',
      deadLock: `b-0123.smq.${deadPid()}-00ff.import-lock`,
      liveTemp: 'c-0123.smq.cc33.tmp',
      liveTemp2: 'c-0123.smq.dd44.tmp',
      liveLock: `c-0123.smq.${process.pid}-11ee.import-lock`,
      entry: 'd-0123.smq',
      other: 'notes.txt',
    };
    for (const name of Object.values(names)) await writeFile(join(cacheDir, name), 'x');
    const removed = await sweepStaleTempFiles(cacheDir);
    expect(removed.map((p) => p.slice(cacheDir.length + 1)).sort()).toEqual([names.orphanTemp, names.deadLock, names.deadTemp].sort());
    expect((await readdir(cacheDir)).sort()).toEqual([names.liveTemp, names.liveTemp2, names.liveLock, names.entry, names.other].sort());
  });

  it('treats a temp file untouched for over an hour as abandoned even under a live lock (pids are reused)', async () => {
    await writeFile(join(cacheDir, `e.smq.${process.pid}-1234.import-lock`), 'x');
    await writeFile(join(cacheDir, 'e.smq.ab.tmp'), 'x');
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(cacheDir, 'e.smq.ab.tmp'), old, old);
    expect(await sweepStaleTempFiles(cacheDir)).toEqual([join(cacheDir, 'e.smq.ab.tmp')]);
  });

  it('is a no-op on a cache directory that does not exist yet', async () => {
    expect(await sweepStaleTempFiles(join(dir, 'missing'))).toEqual([]);
  });
});

describe('cache entries', () => {
  it('ensureImported sweeps first, records the source, and leaves no lock behind', async () => {
    const gguf = await ggufCopy('model.gguf');
    await writeFile(join(cacheDir, 'old.smq.0bad.tmp'), 'left by a killed import');
    const { smqPath, imported } = await ensureImported(gguf, cacheDir);
    expect(imported).toBe(true);
    expect((await readdir(cacheDir)).sort()).toEqual([smqPath, `${smqPath}.json`].map((p) => p.slice(cacheDir.length + 1)).sort());
    const [entry] = await listCache(cacheDir);
    expect(entry).toMatchObject({ smqPath, status: 'current', bytes: (await stat(smqPath)).size, source: { path: gguf, size: (await stat(gguf)).size } });
  });

  it('lists stale and orphaned entries, which prune removes, and evicts least recently used ones beyond a size cap', async () => {
    const [a, b, c] = [await ggufCopy('a.gguf'), await ggufCopy('b.gguf'), await ggufCopy('c.gguf')];
    const entryA = (await ensureImported(a, cacheDir)).smqPath;
    const entryB = (await ensureImported(b, cacheDir)).smqPath;
    const entryC = (await ensureImported(c, cacheDir)).smqPath;
    // Use order: a, then c, then b most recently.
    for (const [path, age] of [[entryA, 300], [entryC, 200], [entryB, 100]] as const) {
      const when = new Date(Date.now() - age * 1000);
      await utimes(`${path}.json`, when, when);
      await utimes(path, when, when);
    }
    expect((await listCache(cacheDir)).map((e) => e.smqPath)).toEqual([entryB, entryC, entryA]);
    const size = (await stat(entryA)).size;

    await rm(c);
    expect((await listCache(cacheDir)).find((e) => e.smqPath === entryC)?.status).toBe('orphaned');
    const later = new Date(Date.now() + 5000);
    await utimes(b, later, later); // modified: its entry no longer matches
    expect((await listCache(cacheDir)).find((e) => e.smqPath === entryB)?.status).toBe('stale');

    const pruned = await pruneCache(cacheDir);
    expect(pruned.removed.map((e) => e.smqPath).sort()).toEqual([entryB, entryC].sort());
    expect(pruned.bytesKept).toBe(size);
    expect((await listCache(cacheDir)).map((e) => e.smqPath)).toEqual([entryA]);

    const d = (await ensureImported(await ggufCopy('d.gguf'), cacheDir)).smqPath;
    const capped = await pruneCache(cacheDir, { maxBytes: size });
    expect(capped.removed.map((e) => e.smqPath)).toEqual([entryA]);
    expect((await listCache(cacheDir)).map((e) => e.smqPath)).toEqual([d]);
    // keep wins over the cap.
    expect((await pruneCache(cacheDir, { maxBytes: 0, keep: [d] })).removed).toEqual([]);

    const cleared = await clearCache(cacheDir);
    expect(cleared.removed.map((e) => e.smqPath)).toEqual([d]);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('the engine holds the cache to cacheMaxBytes, never evicting the model it loads', async () => {
    const engine = new SmallMindEngine({ cacheDir, logger: silentLogger, kernels: 'reference', threads: 1, cacheMaxBytes: 1 });
    try {
      const first = await engine.loadModel({ path: await ggufCopy('one.gguf') });
      const second = await engine.loadModel({ path: await ggufCopy('two.gguf') });
      expect((await listCache(cacheDir)).map((e) => e.smqPath)).toEqual([second.smqPath]);
      expect(first.smqPath).not.toBe(second.smqPath);
    } finally {
      await engine.dispose();
    }
    expect(() => new SmallMindEngine({ cacheMaxBytes: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', field: 'cacheMaxBytes' }));
  });
});
