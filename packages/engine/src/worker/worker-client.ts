/**
 * The caller's side of the inference worker: starts it (the built `inference-worker.js` next to this
 * module; from sources, the `.ts` file through tsx, as in this repository's tests), sends requests and
 * routes `result` / `error` / `progress` / `chunk` events back to them.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SmallMindError } from '@smallmind/quantization-tensors';
import { EngineError, EngineErrorCode } from '../errors.js';
import type { WireError, WorkerEvent, WorkerRequest } from './protocol.js';

type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * An error thrown in the worker, as the caller sees it: `name` is the original class name (e.g.
 * `SmqFormatError`, `InvalidInputError`), with its `code` and `field`.
 */
export class WorkerError extends SmallMindError {
  override readonly name: string;
  readonly field: string | undefined;
  constructor(wire: WireError) {
    super(wire.code ?? 'WORKER_ERROR', wire.message);
    this.name = wire.name;
    this.field = wire.field;
  }
}

/** Engine errors come back as EngineError (same code and field); anything else as a WorkerError. */
function fromWire(wire: WireError): Error {
  if (wire.name === 'EngineError' && wire.code !== undefined && wire.code in EngineErrorCode) {
    return new EngineError(wire.code as EngineErrorCode, wire.field ?? '', wire.message);
  }
  return new WorkerError(wire);
}

export interface RequestHandlers {
  readonly onProgress?: (phase: 'import' | 'load', done: number, total: number, itemsDone: number, itemsTotal: number) => void;
  readonly onChunk?: (text: string, tokens: readonly number[]) => void;
}

interface Pending extends RequestHandlers {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // Running from sources (tests, tsx): load the worker's TypeScript through tsx with this package's tsconfig,
    // whose paths map @smallmind/* to the sibling packages' sources.
    const require = createRequire(here);
    const api = pathToFileURL(require.resolve('tsx/package.json').replace(/package\.json$/, 'dist/esm/api/index.mjs')).href;
    const tsconfig = fileURLToPath(new URL('../../tsconfig.json', here));
    const entry = new URL('./inference-worker.ts', here).href;
    const code = `const { register } = await import(${JSON.stringify(api)}); register({ tsconfig: ${JSON.stringify(tsconfig)} }); await import(${JSON.stringify(entry)});`;
    return new Worker(code, { eval: true });
  }
  return new Worker(new URL('./inference-worker.js', here));
}

export class WorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(private readonly onLog: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void) {
    this.worker = startWorker();
    this.worker.on('message', (event: WorkerEvent) => this.route(event));
    this.worker.on('error', (error) => this.fail(new EngineError('WORKER_FAILED', 'worker', `the inference worker failed: ${error.message}`)));
    this.worker.on('exit', (code) => this.fail(new EngineError('WORKER_FAILED', 'worker', `the inference worker exited (code ${code})`)));
    // An idle worker must not keep the caller's process alive.
    this.worker.unref();
  }

  private route(event: WorkerEvent): void {
    if (event.type === 'log') {
      this.onLog(event.level, event.message);
      return;
    }
    const pending = this.pending.get(event.id);
    if (pending === undefined) return;
    switch (event.type) {
      case 'progress':
        pending.onProgress?.(event.phase, event.done, event.total, event.itemsDone, event.itemsTotal);
        break;
      case 'chunk':
        pending.onChunk?.(event.text, event.tokens);
        break;
      case 'result':
        this.settle(event.id);
        pending.resolve(event.value);
        break;
      case 'error':
        this.settle(event.id);
        pending.reject(fromWire(event.error));
        break;
    }
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(error);
    }
  }

  /** Sends a request; the promise settles with its result. `started` receives the id (for an abort). */
  request<T>(body: RequestBody, handlers: RequestHandlers = {}, started?: (id: number) => void): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { ...handlers, resolve: resolve as (value: unknown) => void, reject });
      // Work in flight keeps the process alive until it settles.
      this.worker.ref();
      this.worker.postMessage({ ...body, id } as WorkerRequest);
      started?.(id);
    });
  }

  /** Asks the worker to stop request `target` (a generation stops within one token). */
  abort(target: number): void {
    if (this.failure !== undefined || !this.pending.has(target)) return;
    this.worker.postMessage({ type: 'abort', id: this.nextId++, target } satisfies WorkerRequest);
  }

  async terminate(): Promise<void> {
    this.failure ??= new EngineError('ENGINE_DISPOSED', 'engine', 'the engine has been disposed');
    this.fail(this.failure);
    await this.worker.terminate();
  }
}
