/**
 * The browser worker's model opener: a URL (fetched with HTTP Range where the server allows it), a Blob/File
 * or bytes become a ByteSource; an SMQ file loads straight from it; a GGUF file loads straight from its
 * source into kernel memory, one pass (for a URL, the download itself), and is imported into the OPFS cache
 * from the same bytes as they arrive; later loads of the same source read the cache entry (no download, no
 * import). Without a cache (`cache: 'none'`, no OPFS, a Blob without a name) nothing is kept. A cache entry found damaged while loading is evicted and re-imported once, with
 * one warning. Platform-free apart from fetch/Blob/OPFS, so Node tests run it with fakes.
 */
import { GgufImporter, openGguf, type GgufFile, type GgufTeeSource } from '@smallmind/io-gguf';
import { ByteSourceError, MemoryByteSource, SmqFormatError, UrlByteSource, BlobByteSource, type ByteSource } from '@smallmind/io-smq';
import type { KernelBackend } from '@smallmind/quantization-kernels';
import { EngineError } from '../errors.js';
import { forwardingLogger, loadSmq, loadTensors, type OpenHooks, type OpenedModel } from '../model-open.js';
import type { WireModelSource, WorkerLoadOptions, WorkerRuntimeInfo } from '../worker/protocol.js';
import { OpfsModelCache, cacheEntryName, type OpfsDirectory, type SourceIdentity } from './opfs-cache.js';

const GGUF_MAGIC = [0x47, 0x47, 0x55, 0x46];
const SMQ_MAGIC = [0x89, 0x53, 0x4d, 0x51];

export interface BrowserOpenEnvironment {
  /** The OPFS root (default: navigator.storage.getDirectory(), when there is one). */
  readonly opfsRoot?: () => Promise<OpfsDirectory | undefined>;
  readonly fetch?: typeof fetch;
}

/** An abort of the `load` request (the engine's AbortSignal, relayed as an `abort` message) as a signal here. */
function abortSignalOf(hooks: OpenHooks): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  const timer = setInterval(() => {
    if (hooks.aborted?.() === true) controller.abort(new DOMException('the model load was aborted', 'AbortError'));
  }, 50);
  return { signal: controller.signal, stop: () => clearInterval(timer) };
}

function lastSegment(url: string): string {
  try {
    const path = new URL(url).pathname;
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)) || 'model';
  } catch {
    return 'model';
  }
}

async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A URL's size and validator from a HEAD request, so that a cache hit downloads nothing. Undefined when the
 * server does not answer HEAD usefully (then the GET that opens the source tells). An error status fails now.
 */
async function probeUrl(url: string, signal: AbortSignal, env: BrowserOpenEnvironment): Promise<{ size: number; version: string } | undefined> {
  let response: Response;
  try {
    response = await (env.fetch ?? globalThis.fetch)(url, { method: 'HEAD', signal });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new EngineError('MODEL_FETCH_FAILED', 'source', `${url}: the request failed (${(error as Error).message})`);
  }
  if (response.status === 404 || response.status === 410 || response.status === 401 || response.status === 403) {
    throw new EngineError('MODEL_FETCH_FAILED', 'source', `${url}: HTTP ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}`);
  }
  const size = Number(response.headers.get('content-length') ?? NaN);
  // Cross-origin, ETag is readable only when the server exposes it; Last-Modified always is. Neither: size alone.
  const version = response.headers.get('etag') ?? response.headers.get('last-modified') ?? '';
  if (!response.ok || !Number.isSafeInteger(size) || size <= 0) return undefined;
  return { size, version };
}

/**
 * A File by its name, size and date. A plain Blob has no name or date, and hashing gigabytes to key it is not
 * worth it: its id is empty, which means "not cached" (imported into memory).
 */
function blobIdentity(blob: Blob): SourceIdentity {
  const file = blob as Blob & { name?: unknown; lastModified?: unknown };
  if (typeof file.name !== 'string' || file.name === '') return { name: 'model', id: '', size: blob.size, version: '' };
  return { name: file.name, id: `file:${file.name}`, size: blob.size, version: String(file.lastModified ?? '') };
}

/** What identifies `source` for the cache without reading it, where that is possible (a URL after HEAD, a Blob). */
async function identify(source: WireModelSource, signal: AbortSignal, env: BrowserOpenEnvironment): Promise<SourceIdentity | undefined> {
  if (source.kind === 'url') {
    const probed = await probeUrl(source.url, signal, env);
    return probed === undefined ? undefined : { name: lastSegment(source.url), id: source.url, ...probed };
  }
  if (source.kind === 'blob') return blobIdentity(source.blob);
  return undefined;
}

/** The source as bytes to read, and what identifies it for the cache. */
async function openSource(source: WireModelSource, signal: AbortSignal, hooks: OpenHooks, env: BrowserOpenEnvironment): Promise<{ bytes: ByteSource; identity: SourceIdentity }> {
  switch (source.kind) {
    case 'url': {
      let opened: Awaited<ReturnType<typeof UrlByteSource.open>>;
      try {
        opened = await UrlByteSource.open(source.url, {
          signal,
          onProgress: (loaded, total) => hooks.progress('download', loaded, total ?? 0, 0, 0),
          ...(env.fetch === undefined ? {} : { fetch: env.fetch }),
        });
      } catch (error) {
        if (error instanceof ByteSourceError && error.code === 'FETCH_FAILED') throw new EngineError('MODEL_FETCH_FAILED', 'source', error.message);
        throw error;
      }
      return { bytes: opened, identity: { name: lastSegment(source.url), id: source.url, size: opened.size, version: opened.version ?? '' } };
    }
    case 'blob': {
      const identity = blobIdentity(source.blob);
      return { bytes: new BlobByteSource(source.blob, identity.name), identity };
    }
    case 'bytes':
      return { bytes: new MemoryByteSource(source.bytes), identity: { name: 'model', id: `sha256:${await sha256Hex(source.bytes)}`, size: source.bytes.byteLength, version: '' } };
    default:
      throw new EngineError('UNSUPPORTED_SOURCE', 'source', 'the model source must be a URL, a Blob/File or an ArrayBuffer');
  }
}

async function kindOf(bytes: ByteSource): Promise<'gguf' | 'smq'> {
  const head = bytes.size >= 4 ? await bytes.read(0, 4) : new Uint8Array(0);
  if (GGUF_MAGIC.every((b, i) => head[i] === b)) return 'gguf';
  if (SMQ_MAGIC.every((b, i) => head[i] === b)) return 'smq';
  throw new EngineError('UNSUPPORTED_SOURCE', 'source', `the model's first bytes are neither GGUF nor SMQ (${Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
}

function backendName(backend: KernelBackend): WorkerRuntimeInfo['backend'] {
  if (backend.name.includes('relaxed')) return 'relaxed-simd';
  if (backend.name.includes('simd')) return 'simd128';
  return 'reference';
}

/** The browser's `InferenceService` opener (see protocol.ts `WorkerLoadOptions.source`). */
export async function openBrowserModel(options: WorkerLoadOptions, hooks: OpenHooks, env: BrowserOpenEnvironment = {}): Promise<OpenedModel> {
  const wire = options.source;
  if (wire === undefined) throw new EngineError('UNSUPPORTED_SOURCE', 'source', 'loadModel needs a source (URL, Blob/File or ArrayBuffer)');
  const logger = forwardingLogger(options.logLevel, hooks.log);
  const { signal, stop } = abortSignalOf(hooks);
  try {
    const root = options.cache === 'none' ? undefined : await (env.opfsRoot ?? OpfsModelCache.root)();
    const cache = root === undefined ? undefined : await OpfsModelCache.open(root);
    if (options.cache !== 'none' && cache === undefined) logger.warn('OPFS is not available here: the model loads straight from its source and is not cached');
    // A cache hit needs only the source's identity (a HEAD request for a URL): nothing is downloaded or read.
    const known = cache === undefined ? undefined : await identify(wire, signal, env);
    const knownEntry = cache === undefined || known === undefined || known.id === '' ? undefined : await cacheEntryName(known);
    const hit = cache === undefined || knownEntry === undefined ? undefined : await cache.open(knownEntry);
    const { bytes, identity } = hit !== undefined && known !== undefined ? { bytes: hit, identity: known } : await openSource(wire, signal, hooks, env);
    const entry = cache === undefined || identity.id === '' ? undefined : (knownEntry ?? (await cacheEntryName(identity)));
    if (cache !== undefined && entry === undefined) logger.info('a Blob without a file name is not cached (pass a File to cache it); loading it straight from memory');

    /**
     * Loads the GGUF in `from` straight into kernel memory while importing it into the cache entry from the
     * same bytes: one pass over the source (for a URL, the download itself). A cache that cannot be written
     * costs the cache, not the load: one warning, and the model loads uncached.
     */
    const loadImporting = async (from: ByteSource, into: { cache: OpfsModelCache; entry: string }): Promise<{ loaded: Awaited<ReturnType<typeof loadTensors>>; imported: boolean }> => {
      const importer = await GgufImporter.fromSource(from, identity.name);
      let tee: GgufTeeSource | undefined;
      const onProgress = (p: { bytesDone: number; bytesTotal: number; tensorsDone: number; tensorsTotal: number }): void =>
        hooks.progress('import', p.bytesDone, p.bytesTotal, p.tensorsDone, p.tensorsTotal);
      const open = async (): Promise<GgufTeeSource | GgufFile> => {
        try {
          return (tee = await importer.teeOnto(into.cache.target(into.entry, identity), { signal, onProgress }));
        } catch (error) {
          if (signal.aborted) throw error;
          logger.warn(`could not start the OPFS cache entry ${into.entry} (${(error as Error).message}); loading ${identity.name} without caching it`);
          return importer.gguf;
        }
      };
      let loaded: Awaited<ReturnType<typeof loadTensors>>;
      try {
        loaded = await loadTensors(open, into.entry, options, logger, hooks);
      } finally {
        // The loader closes what it opened; this covers a failure before it did (closing twice is harmless).
        await (tee ?? importer).close();
      }
      if (tee === undefined) return { loaded, imported: false };
      if (!tee.imported) {
        logger.warn(`could not write the OPFS cache entry ${into.entry} (${(tee.cacheError as Error | undefined)?.message ?? 'unknown error'}); the model is loaded but not cached`);
        return { loaded, imported: false };
      }
      logger.info(`imported ${identity.name} into the OPFS cache as ${into.entry} while loading it`);
      if (options.cacheMaxBytes !== undefined) {
        for (const evicted of await into.cache.prune(options.cacheMaxBytes, [into.entry])) logger.info(`OPFS cache: evicted ${evicted.name} (${evicted.bytes} bytes)`);
      }
      return { loaded, imported: true };
    };

    let fromCache = false;
    let imported = false;
    let loaded: Awaited<ReturnType<typeof loadTensors>>;
    const cached = hit ?? (cache === undefined || entry === undefined ? undefined : await cache.open(entry));
    const name = entry ?? identity.name;
    try {
      if (cache !== undefined && entry !== undefined && cached !== undefined) {
        if (cached !== bytes) await bytes.close();
        fromCache = true;
        logger.info(`using the OPFS cache entry ${entry}`);
        loaded = await loadSmq(() => Promise.resolve(cached), name, options, logger, hooks);
      } else if ((await kindOf(bytes)) === 'smq') {
        // An SMQ file needs no import; it is read where it is.
        loaded = await loadSmq(() => Promise.resolve(bytes), name, options, logger, hooks);
      } else if (cache === undefined || entry === undefined) {
        // Nowhere to keep an import: the GGUF loads straight into kernel memory, no SMQ in between.
        loaded = await loadTensors(() => openGguf(bytes), name, options, logger, hooks);
      } else {
        ({ loaded, imported } = await loadImporting(bytes, { cache, entry }));
      }
    } catch (error) {
      const damaged = error instanceof SmqFormatError || (error instanceof Error && error.name === 'SmqFormatError');
      if (!fromCache || !damaged || cache === undefined || entry === undefined) throw error;
      // A damaged cache entry (a flipped byte, a truncated file): evict it and import the source again, once.
      logger.warn(`the OPFS cache entry ${entry} is damaged (${(error as Error).message}); removing it and importing ${identity.name} again`);
      await cache.evict(entry);
      const again = await openSource(wire, signal, hooks, env);
      fromCache = false;
      ({ loaded, imported } = await loadImporting(again.bytes, { cache, entry }));
    }
    const runtime: WorkerRuntimeInfo = {
      threads: loaded.backend.threads,
      backend: backendName(loaded.backend),
      crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
      cache: cache === undefined ? 'none' : 'opfs',
    };
    return { model: loaded.model, kernels: loaded.kernels, dispose: loaded.dispose, smqPath: name, imported, fromCache, runtime };
  } finally {
    stop();
  }
}
