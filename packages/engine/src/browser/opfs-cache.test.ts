/** The OPFS cache logic over a fake OPFS (with and without rename, with and without sync access handles). */
import { ModelMetadata, SmqReader, SmqWriter } from '@smallmind/io-smq';
import { describe, expect, it } from 'vitest';
import { FakeOpfsDirectory } from './fake-opfs.js';
import { OpfsModelCache, cacheEntryName, type SourceIdentity } from './opfs-cache.js';

const source: SourceIdentity = { name: 'tiny.gguf', id: 'https://example.test/tiny.gguf', size: 1234, version: '"e1"' };
const metadata = new ModelMetadata([['general.name', { type: 8, value: 'tiny' }]]);
const weights = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);

async function writeEntry(cache: OpfsModelCache, name: string, fail = false): Promise<void> {
  const writer = await SmqWriter.createOn(cache.target(name, source), { metadata, tensors: [{ name: 'w', type: 0, shape: [4], byteLength: 16 }] });
  await writer.writeTensorData('w', weights);
  if (fail) {
    await writer.abort();
    return;
  }
  await writer.finish();
}

describe('OpfsModelCache', () => {
  it('names entries as the Node cache does: <name>-<16 hex>.smq, keyed by id, size, version and the SMQ version', async () => {
    const name = await cacheEntryName(source);
    expect(name).toMatch(/^tiny-[0-9a-f]{16}\.smq$/);
    expect(await cacheEntryName({ ...source, version: '"e2"' })).not.toBe(name);
    expect(await cacheEntryName({ ...source, size: 1235 })).not.toBe(name);
    expect(await cacheEntryName({ ...source })).toBe(name);
  });

  it.each([
    ['rename and sync access handles', {}],
    ['no rename (copy, then delete)', { move: false }],
    ['no sync access handles (writable streams)', { syncAccess: false }],
  ])('writes under a temp name and publishes on commit (%s)', async (_label, options) => {
    const root = new FakeOpfsDirectory(options);
    const cache = await OpfsModelCache.open(root);
    const dir = root.dirs.get('smallmind')!;
    const name = await cacheEntryName(source);
    expect(await cache.open(name)).toBeUndefined();
    await writeEntry(cache, name);
    expect([...dir.files.keys()].filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const opened = await cache.open(name);
    expect(opened).toBeDefined();
    const reader = await SmqReader.fromSource(opened!);
    expect(await reader.readTensorData('w')).toEqual(weights);
    await reader.close();
    const [entry] = await cache.list();
    expect(entry).toMatchObject({ name, source });
    expect(entry!.bytes).toBe(dir.files.get(name)!.bytes.length);
  });

  it('an aborted import leaves no entry and no temp file; a temp file left by a closed page is swept on open', async () => {
    const root = new FakeOpfsDirectory();
    const cache = await OpfsModelCache.open(root);
    const dir = root.dirs.get('smallmind')!;
    await writeEntry(cache, 'a-0000000000000000.smq', true);
    expect([...dir.files.keys()].filter((n) => n !== 'index.json')).toEqual([]);
    // A page closed mid-import: the temp file stays until the next open.
    const handle = await dir.getFileHandle('b-0000000000000000.smq.abcdef.tmp', { create: true });
    expect(handle).toBeDefined();
    await OpfsModelCache.open(root);
    expect(dir.files.has('b-0000000000000000.smq.abcdef.tmp')).toBe(false);
  });

  it('evicts, prunes least recently used first (keeping what is asked), and clears', async () => {
    const root = new FakeOpfsDirectory();
    const cache = await OpfsModelCache.open(root);
    for (const n of ['a', 'b', 'c']) {
      await writeEntry(cache, `${n}-0000000000000000.smq`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // Use "a" again: "b" is now the least recently used.
    await cache.open('a-0000000000000000.smq');
    const each = (await cache.list())[0]!.bytes;
    expect((await cache.list()).map((e) => e.name[0])).toEqual(['a', 'c', 'b']);
    const evicted = await cache.prune(2 * each, ['c-0000000000000000.smq']);
    expect(evicted.map((e) => e.name[0])).toEqual(['b']);
    await cache.evict('c-0000000000000000.smq');
    await cache.evict('missing.smq');
    expect((await cache.list()).map((e) => e.name[0])).toEqual(['a']);
    await cache.clear();
    expect(await cache.list()).toEqual([]);
  });

  it('a damaged index loses only the LRU order and sources, not the entries', async () => {
    const root = new FakeOpfsDirectory();
    const cache = await OpfsModelCache.open(root);
    await writeEntry(cache, 'a-0000000000000000.smq');
    const dir = root.dirs.get('smallmind')!;
    dir.files.get('index.json')!.bytes = new TextEncoder().encode('{not json');
    const [entry] = await cache.list();
    expect(entry).toMatchObject({ name: 'a-0000000000000000.smq', source: undefined });
    expect((await cache.open('a-0000000000000000.smq'))?.size).toBe(entry!.bytes);
  });
});
