/**
 * The browser engine end to end, in Node: the real SmallMindEngine from the browser entry, its worker
 * protocol and the worker's opener, with the "Web Worker" run in-process (messages structured-cloned, bytes
 * transferred as postMessage does), OPFS faked, and URLs served by a local HTTP server with and without
 * Range support. Real browsers are the example's Chromium tests (examples/browser).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@smallmind/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceService, requestScheduler } from '../worker/inference-service.js';
import type { WorkerEvent, WorkerRequest } from '../worker/protocol.js';
import { FakeOpfsDirectory } from './fake-opfs.js';
import { EngineError, OpfsModelCache, SmallMindEngine, type LoadProgressEvent } from './index.js';
import { openBrowserModel } from './open-model.js';
import type { WebWorkerLike } from './web-worker.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
const gguf = new Uint8Array(readFileSync(`${fixtures}stories260K/stories260K-F32.gguf`));
const reference = (JSON.parse(readFileSync(`${fixtures}stories260K/stories260K-F32.ref.json`, 'utf8')) as { prompts: Array<{ prompt: string; greedy_tokens: number[] }> }).prompts[0]!;

/** A Web Worker whose script runs in this thread: the browser worker's service over the fake OPFS. */
function inProcessWorker(root: FakeOpfsDirectory | undefined): WebWorkerLike {
  const listeners: Array<(event: { data?: unknown }) => void> = [];
  const service = new InferenceService(
    (event: WorkerEvent) => {
      const data = structuredClone(event);
      setImmediate(() => listeners.forEach((l) => l({ data })));
    },
    (options, hooks) => openBrowserModel(options, hooks, { opfsRoot: () => Promise.resolve(root) }),
  );
  const schedule = requestScheduler(service);
  return {
    postMessage: (message, transfer) => {
      const data = structuredClone(message, { transfer: (transfer ?? []) as ArrayBuffer[] }) as WorkerRequest;
      // Browsers clone a File as a File; Node 20 makes it a plain Blob. A Blob is immutable: pass it as is.
      const original = message as WorkerRequest;
      if (original.type === 'load' && original.options.source?.kind === 'blob' && data.type === 'load') {
        Object.assign(data, { options: { ...data.options, source: original.options.source } });
      }
      setImmediate(() => schedule(data));
    },
    addEventListener: (type, listener) => {
      if (type === 'message') listeners.push(listener);
    },
    terminate: () => {},
  };
}

function serve(range: boolean): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.headers.range ?? 'whole'}`);
    if (req.url !== '/stories.gguf') {
      res.writeHead(404, 'Not Found').end('missing');
      return;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': gguf.length, ...(range ? { etag: '"v1"' } : {}) }).end();
      return;
    }
    const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && match !== null) {
      const start = Number(match[1]);
      const end = match[2] === '' ? gguf.length - 1 : Math.min(Number(match[2]), gguf.length - 1);
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${gguf.length}`, 'content-length': end - start + 1, etag: '"v1"' });
      res.end(gguf.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { 'content-length': gguf.length });
    res.end(gguf);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests })));
}

describe('SmallMindEngine (browser entry)', () => {
  let ranged: Awaited<ReturnType<typeof serve>>;
  let whole: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    [ranged, whole] = await Promise.all([serve(true), serve(false)]);
  });
  afterAll(() => {
    ranged.server.close();
    whole.server.close();
  });

  it('loads a GGUF ArrayBuffer, generates as llama.cpp does, and reports its runtime', async () => {
    const root = new FakeOpfsDirectory();
    const engine = new SmallMindEngine({ logger: silentLogger, createWorker: () => inProcessWorker(root) });
    try {
      const phases = new Set<string>();
      const info = await engine.loadModel({ source: gguf.slice().buffer, onProgress: (p) => phases.add(p.phase) });
      expect(info).toMatchObject({ architecture: 'llama', imported: true, fromCache: false });
      expect([...phases].sort()).toEqual(['import', 'load']);
      expect(engine.runtime).toEqual({ threads: 1, backend: expect.stringMatching(/^(relaxed-simd|simd128)$/) as unknown as 'simd128', crossOriginIsolated: false, cache: 'opfs' });
      const result = await engine.generate(reference.prompt, { maxTokens: reference.greedy_tokens.length });
      expect(result.tokens).toEqual(reference.greedy_tokens);
      const chunks: string[] = [];
      const session = await engine.createSession();
      for await (const chunk of session.stream(reference.prompt, { maxTokens: 4 })) chunks.push(chunk.text);
      expect(chunks.join('').length).toBeGreaterThan(0);
      expect(await engine.detokenize(await engine.tokenize('Once upon'))).toContain('Once upon');
    } finally {
      await engine.dispose();
    }
  });

  it('imports a URL once into OPFS; the next load comes from the cache without downloading', async () => {
    const root = new FakeOpfsDirectory();
    const first = new SmallMindEngine({ logger: silentLogger, createWorker: () => inProcessWorker(root) });
    const progress: LoadProgressEvent[] = [];
    try {
      const info = await first.loadModel({ source: `${ranged.url}/stories.gguf`, onProgress: (p) => progress.push(p) });
      expect(info).toMatchObject({ imported: true, fromCache: false });
      const downloads = progress.filter((p) => p.phase === 'download');
      expect(downloads.at(-1)).toEqual({ phase: 'download', loaded: gguf.length, total: gguf.length });
      // A HEAD for the cache key, then one pass over the file: the first 1 MiB, then one open-ended range
      // read front to back, loading the model and writing the cache entry from the same bytes.
      expect(ranged.requests[0]).toBe('HEAD whole');
      expect(ranged.requests.slice(1)).toEqual([`GET bytes=0-${(1 << 20) - 1}`, expect.stringMatching(/^GET bytes=\d+-$/)]);
      expect(new Set(progress.map((p) => p.phase))).toEqual(new Set(['download', 'import', 'load']));
      expect((await first.generate(reference.prompt, { maxTokens: reference.greedy_tokens.length })).tokens).toEqual(reference.greedy_tokens);
    } finally {
      await first.dispose();
    }
    const cache = await OpfsModelCache.open(root);
    const entries = await cache.list();
    expect(entries).toHaveLength(1);
    expect(entries[0]!.name).toMatch(/^stories-[0-9a-f]{16}\.smq$/);
    expect(entries[0]!.source).toMatchObject({ id: `${ranged.url}/stories.gguf`, size: gguf.length, version: '"v1"' });

    const second = new SmallMindEngine({ logger: silentLogger, createWorker: () => inProcessWorker(root) });
    ranged.requests.length = 0;
    try {
      const phases = new Set<string>();
      const info = await second.loadModel({ source: `${ranged.url}/stories.gguf`, onProgress: (p) => phases.add(p.phase) });
      expect(info).toMatchObject({ imported: false, fromCache: true });
      expect(phases.has('import')).toBe(false);
      expect(phases.has('download')).toBe(false);
      expect(ranged.requests).toEqual(['HEAD whole']);
      expect((await second.generate(reference.prompt, { maxTokens: reference.greedy_tokens.length })).tokens).toEqual(reference.greedy_tokens);
    } finally {
      await second.dispose();
    }
  });

  it('streams the whole file from a server that ignores Range, and keeps no cache with cache: none', async () => {
    const root = new FakeOpfsDirectory();
    const engine = new SmallMindEngine({ logger: silentLogger, cache: 'none', createWorker: () => inProcessWorker(root) });
    try {
      const phases = new Set<string>();
      const info = await engine.loadModel({ source: new URL(`${whole.url}/stories.gguf`), onProgress: (p) => phases.add(p.phase) });
      // No cache to keep an import in: the GGUF loads straight into kernel memory, no SMQ in between.
      expect(info).toMatchObject({ imported: false, fromCache: false });
      expect([...phases].sort()).toEqual(['download', 'load']);
      expect(engine.runtime.cache).toBe('none');
      expect(root.dirs.size).toBe(0);
      expect((await engine.generate(reference.prompt, { maxTokens: 8 })).tokens).toEqual(reference.greedy_tokens.slice(0, 8));
    } finally {
      await engine.dispose();
    }
  });

  it('with cache: none, a GGUF at a Range server loads in one pass of range requests into kernel memory', async () => {
    const engine = new SmallMindEngine({ logger: silentLogger, cache: 'none', createWorker: () => inProcessWorker(undefined) });
    const from = ranged.requests.length;
    try {
      const loads: LoadProgressEvent[] = [];
      const info = await engine.loadModel({ source: `${ranged.url}/stories.gguf`, onProgress: (p) => (p.phase === 'load' ? loads.push(p) : undefined) });
      expect(info).toMatchObject({ imported: false, fromCache: false });
      // Every tensor counted once, in order. After the opening request (the first 1 MiB), the rest of the
      // tensors come from one open-ended request read front to back.
      expect(loads.length).toBeGreaterThan(1);
      for (let i = 1; i < loads.length; i++) expect(loads[i]!.loaded).toBeGreaterThan(loads[i - 1]!.loaded);
      expect(loads.at(-1)!.loaded).toBe(loads.at(-1)!.total);
      const [opening, ...rest] = ranged.requests.slice(from);
      expect(opening).toBe(`GET bytes=0-${(1 << 20) - 1}`);
      expect(rest).toEqual([expect.stringMatching(/^GET bytes=\d+-$/)]);
      expect(Number(/\d+/.exec(rest[0]!)![0])).toBeLessThan(1 << 20);
      expect((await engine.generate(reference.prompt, { maxTokens: reference.greedy_tokens.length })).tokens).toEqual(reference.greedy_tokens);
    } finally {
      await engine.dispose();
    }
  });

  it('a cache that cannot be written (quota) costs the cache, not the load: one warning, nothing kept', async () => {
    const root = new FakeOpfsDirectory({ quotaBytes: 64 * 1024 });
    const warnings: string[] = [];
    const engine = new SmallMindEngine({ logger: { ...silentLogger, warn: (m: string) => warnings.push(m) }, createWorker: () => inProcessWorker(root) });
    try {
      const info = await engine.loadModel({ source: new File([gguf], 'stories.gguf', { lastModified: 1 }) });
      expect(info).toMatchObject({ imported: false, fromCache: false });
      expect(warnings).toHaveLength(1);
      // The file is sized up front, so a model that cannot fit fails before any byte is written.
      expect(warnings[0]).toMatch(/could not start the OPFS cache entry stories-[0-9a-f]{16}\.smq \(.*quota.*\); loading stories\.gguf without caching it/);
      expect(await (await OpfsModelCache.open(root)).list()).toEqual([]);
      expect([...root.dirs.get('smallmind')!.files.keys()].filter((n) => n.endsWith('.tmp'))).toEqual([]);
      expect((await engine.generate(reference.prompt, { maxTokens: 8 })).tokens).toEqual(reference.greedy_tokens.slice(0, 8));
    } finally {
      await engine.dispose();
    }
  });

  it('a damaged cache entry is evicted and imported again, with one warning', async () => {
    const root = new FakeOpfsDirectory();
    const blob = new File([gguf], 'stories.gguf', { lastModified: 1234 });
    const first = new SmallMindEngine({ logger: silentLogger, createWorker: () => inProcessWorker(root) });
    await first.loadModel({ source: blob }).finally(() => first.dispose());
    const dir = root.dirs.get('smallmind')!;
    const [name, file] = [...dir.files].find(([n]) => n.endsWith('.smq'))!;
    file.bytes[file.bytes.length - 100]! ^= 0xff; // a flipped byte in the last tensor's data
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => warnings.push(m) };
    const second = new SmallMindEngine({ logger, createWorker: () => inProcessWorker(root) });
    try {
      const info = await second.loadModel({ source: blob });
      expect(info).toMatchObject({ imported: true, fromCache: false });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`${name} is damaged`);
      expect((await second.generate(reference.prompt, { maxTokens: 8 })).tokens).toEqual(reference.greedy_tokens.slice(0, 8));
    } finally {
      await second.dispose();
    }
  });

  it('cacheMaxBytes evicts the least recently used other entries after an import', async () => {
    const root = new FakeOpfsDirectory();
    const load = async (source: Blob, cacheMaxBytes?: number): Promise<void> => {
      const engine = new SmallMindEngine({ logger: silentLogger, ...(cacheMaxBytes === undefined ? {} : { cacheMaxBytes }), createWorker: () => inProcessWorker(root) });
      await engine.loadModel({ source }).finally(() => engine.dispose());
    };
    await load(new File([gguf], 'one.gguf', { lastModified: 1 }));
    await load(new File([gguf], 'two.gguf', { lastModified: 2 }));
    const cache = await OpfsModelCache.open(root);
    expect((await cache.list()).map((e) => e.name.split('-')[0])).toEqual(['two', 'one']);
    const each = (await cache.list())[0]!.bytes;
    await load(new File([gguf], 'three.gguf', { lastModified: 3 }), 2 * each);
    expect((await cache.list()).map((e) => e.name.split('-')[0])).toEqual(['three', 'two']);
    expect(() => new SmallMindEngine({ cacheMaxBytes: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', field: 'cacheMaxBytes' }) as Error);
  });

  it('a plain Blob (no file name) loads without being cached', async () => {
    const root = new FakeOpfsDirectory();
    const engine = new SmallMindEngine({ logger: silentLogger, createWorker: () => inProcessWorker(root) });
    try {
      expect(await engine.loadModel({ source: new Blob([gguf]) })).toMatchObject({ imported: false, fromCache: false });
      expect(await (await OpfsModelCache.open(root)).list()).toEqual([]);
    } finally {
      await engine.dispose();
    }
  });

  it('a URL that answers 404 rejects quickly with MODEL_FETCH_FAILED naming the URL and status', async () => {
    const engine = new SmallMindEngine({ logger: silentLogger, createWorker: () => inProcessWorker(undefined) });
    try {
      const error = await engine.loadModel({ source: `${ranged.url}/missing.gguf` }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EngineError);
      expect(error).toMatchObject({ code: 'MODEL_FETCH_FAILED' });
      expect((error as Error).message).toContain(`${ranged.url}/missing.gguf`);
      expect((error as Error).message).toContain('404');
    } finally {
      await engine.dispose();
    }
  });

  it('bad sources and options are typed errors', async () => {
    expect(() => new SmallMindEngine({ threads: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', field: 'threads' }) as Error);
    const engine = new SmallMindEngine({ logger: silentLogger, createWorker: () => inProcessWorker(undefined) });
    try {
      await expect(engine.loadModel({ source: 42 as unknown as ArrayBuffer })).rejects.toMatchObject({ code: 'UNSUPPORTED_SOURCE' });
      await expect(engine.loadModel({ source: new TextEncoder().encode('not a model file').buffer })).rejects.toMatchObject({ code: 'UNSUPPORTED_SOURCE' });
      const aborted = AbortSignal.abort(new Error('stop'));
      await expect(engine.loadModel({ source: gguf.slice().buffer, signal: aborted })).rejects.toThrow('stop');
    } finally {
      await engine.dispose();
    }
  });
});
