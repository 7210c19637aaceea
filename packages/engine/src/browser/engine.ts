/**
 * SmallMindEngine for browsers (`@smallmind/engine/browser`): the model lives in a module Web Worker, which
 * fetches or reads it, imports a GGUF once into the OPFS cache and runs the kernels. Sessions, chats and
 * generation are the Node engine's own code (EngineCore); only starting the worker and loading differ.
 * No node:* anywhere in this entry's graph (a test bundles it for the browser and checks).
 */
import { consoleLogger, type Logger } from '@smallmind/runtime';
import { EngineCore } from '../engine-core.js';
import { EngineError } from '../errors.js';
import type { WireModelSource, WorkerModelInfo, WorkerRuntimeInfo } from '../worker/protocol.js';
import { WorkerClient } from '../worker/worker-client.js';
import { defaultWebWorker, webWorkerTransport, type WebWorkerLike } from './web-worker.js';

export interface BrowserEngineOptions {
  /**
   * Threads for the matrix kernels (default: navigator.hardwareConcurrency, at most 8, when the page is
   * cross-origin isolated; else 1). More than 1 needs SharedArrayBuffer, i.e. COOP/COEP headers.
   */
  readonly threads?: number;
  /** `opfs` (default where OPFS exists): GGUF imports are kept in the Origin Private File System; `none`: memory only. */
  readonly cache?: 'opfs' | 'none';
  /** Most bytes the OPFS cache may hold: after each import the least recently used other entries are evicted (default: no cap). */
  readonly cacheMaxBytes?: number;
  /** Messages the worker forwards (default `info`). */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Where they go (the console by default). */
  readonly logger?: Logger;
  /** `wasm` (default) or `reference` (plain TypeScript kernels). */
  readonly kernels?: 'wasm' | 'reference';
  /** Starts the inference worker yourself (a bundler that needs its own worker syntax, a CDN copy of the worker file). */
  readonly createWorker?: () => WebWorkerLike;
}

export type ModelSource = string | URL | Blob | ArrayBuffer;

export interface LoadProgressEvent {
  /** `download`: bytes fetched from the URL; `import`: bytes of tensors copied into SMQ; `load`: bytes of weights placed in kernel memory. */
  readonly phase: 'download' | 'import' | 'load';
  readonly loaded: number;
  readonly total?: number;
}

export interface BrowserLoadModelOptions {
  /** A URL (streamed fetch, HTTP Range where the server allows it), a File/Blob, or the bytes (transferred to the worker). GGUF or SMQ. */
  readonly source: ModelSource;
  /** Aborting rejects the load at once and stops the worker's download or import. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: LoadProgressEvent) => void;
  /** Keep weights in their block format (default true). */
  readonly preserveQuantization?: boolean;
  /** Default context window of sessions (default min(the file's, 4096)). */
  readonly contextLength?: number;
}

export interface BrowserModelInfo {
  /** True when this load imported a GGUF (false: from the cache, or an SMQ source). */
  readonly imported: boolean;
  /** True when the model came from the OPFS cache (no download, no import). */
  readonly fromCache: boolean;
  readonly architecture: string;
  readonly contextLength: number;
  readonly trainedContextLength: number;
  readonly vocabSize: number;
  readonly kernels: string;
  readonly chatTemplate: string | undefined;
}

export type BrowserRuntimeInfo = WorkerRuntimeInfo;

function isCrossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

function defaultThreads(): number {
  if (!isCrossOriginIsolated()) return 1;
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Math.max(1, Math.min(8, typeof n === 'number' && Number.isSafeInteger(n) ? n : 1));
}

function wireSource(source: ModelSource): { wire: WireModelSource; transfer: ArrayBuffer[] } {
  if (typeof source === 'string' || source instanceof URL) {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    let url: string;
    try {
      url = new URL(String(source), base).href;
    } catch {
      throw new EngineError('UNSUPPORTED_SOURCE', 'source', `${JSON.stringify(String(source))} is not a URL`);
    }
    return { wire: { kind: 'url', url }, transfer: [] };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) return { wire: { kind: 'blob', blob: source }, transfer: [] };
  if (source instanceof ArrayBuffer) return { wire: { kind: 'bytes', bytes: source }, transfer: [source] };
  throw new EngineError('UNSUPPORTED_SOURCE', 'source', 'the model source must be a URL (string or URL), a Blob/File or an ArrayBuffer');
}

export class SmallMindEngine extends EngineCore<BrowserModelInfo> {
  private readonly logger: Logger;
  private readonly threads: number;
  private info: WorkerRuntimeInfo | undefined;

  constructor(private readonly options: BrowserEngineOptions = {}) {
    super();
    this.logger = options.logger ?? consoleLogger;
    const threads = options.threads ?? defaultThreads();
    if (!Number.isSafeInteger(threads) || threads < 1) throw new EngineError('INVALID_OPTION', 'threads', `threads = ${threads} must be a positive integer`);
    this.threads = threads;
    const cache = options.cache;
    if (cache !== undefined && cache !== 'opfs' && cache !== 'none') throw new EngineError('INVALID_OPTION', 'cache', `cache = ${String(cache)} must be 'opfs' or 'none'`);
    const cap = options.cacheMaxBytes;
    if (cap !== undefined && (!Number.isSafeInteger(cap) || cap < 0)) throw new EngineError('INVALID_OPTION', 'cacheMaxBytes', `cacheMaxBytes = ${cap} must be a non-negative integer (bytes)`);
  }

  protected override startWorker(): WorkerClient {
    const worker = (this.options.createWorker ?? defaultWebWorker)();
    return new WorkerClient(webWorkerTransport(worker), (level, message) => this.logger[level](message));
  }

  /**
   * What the model runs on: threads, kernel build, whether the page is cross-origin isolated, the cache. Before
   * the first load, what was asked for (the backend is known once the worker compiled the kernels).
   */
  get runtime(): BrowserRuntimeInfo {
    return this.info ?? { threads: this.threads, backend: 'simd128', crossOriginIsolated: isCrossOriginIsolated(), cache: this.options.cache ?? 'opfs' };
  }

  /** Loads a model into the worker, replacing the previous one. */
  async loadModel(options: BrowserLoadModelOptions): Promise<BrowserModelInfo> {
    if (this.disposed) throw new EngineError('ENGINE_DISPOSED', 'engine', 'the engine has been disposed');
    const contextLength = options.contextLength;
    if (contextLength !== undefined && (!Number.isSafeInteger(contextLength) || contextLength < 1)) {
      throw new EngineError('INVALID_OPTION', 'contextLength', `contextLength = ${contextLength} must be a positive integer`);
    }
    options.signal?.throwIfAborted();
    const { wire, transfer } = wireSource(options.source);
    this.loaded = undefined;
    const client = this.worker();
    let requestId: number | undefined;
    const request = client.request<WorkerModelInfo>(
      {
        type: 'load',
        options: {
          source: wire,
          cache: this.options.cache ?? 'opfs',
          ...(this.options.cacheMaxBytes === undefined ? {} : { cacheMaxBytes: this.options.cacheMaxBytes }),
          threads: this.threads,
          logLevel: this.options.logLevel ?? 'info',
          ...(options.preserveQuantization === undefined ? {} : { preserveQuantization: options.preserveQuantization }),
          ...(this.options.kernels === undefined ? {} : { kernels: this.options.kernels }),
        },
      },
      { onProgress: (phase, loaded, total) => options.onProgress?.({ phase, loaded, ...(total > 0 ? { total } : {}) }) },
      (id) => (requestId = id),
      transfer,
    );
    const signal = options.signal;
    const info = await (signal === undefined
      ? request
      : new Promise<WorkerModelInfo>((resolve, reject) => {
          const onAbort = (): void => {
            if (requestId !== undefined) client.abort(requestId);
            reject(signal.reason);
          };
          signal.addEventListener('abort', onAbort, { once: true });
          request.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
        }));
    this.info = info.runtime;
    const cap = Math.min(info.contextLength, 4096);
    this.loaded = {
      imported: info.imported,
      fromCache: info.fromCache ?? false,
      architecture: info.architecture,
      contextLength: contextLength === undefined ? cap : Math.min(contextLength, info.contextLength),
      trainedContextLength: info.contextLength,
      vocabSize: info.vocabSize,
      kernels: info.kernels,
      chatTemplate: info.chatTemplate,
    };
    return this.loaded;
  }
}
