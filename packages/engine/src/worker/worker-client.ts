/**
 * The caller's side of the inference worker, over any transport (Node worker_threads: node-worker.ts; a
 * browser's Web Worker: browser/web-worker.ts): sends requests and routes `result` / `error` / `progress` /
 * `chunk` events back to them. No node:* here.
 */
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
  readonly onProgress?: (phase: 'download' | 'import' | 'load', done: number, total: number, itemsDone: number, itemsTotal: number) => void;
  readonly onChunk?: (text: string, tokens: readonly number[]) => void;
}

interface Pending extends RequestHandlers {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * A connection to an inference worker: how messages go out and come back. `ref`/`unref` (Node) let an idle
 * worker not keep the process alive; a browser has nothing of the kind.
 */
export interface WorkerTransport {
  post(message: WorkerRequest, transfer?: readonly ArrayBuffer[]): void;
  /** Registers the handlers (called once, right after the transport is made). */
  listen(handlers: { message(event: WorkerEvent): void; error(message: string): void; exit(code: number): void }): void;
  ref?(): void;
  unref?(): void;
  terminate(): Promise<void>;
}

export class WorkerClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(
    private readonly worker: WorkerTransport,
    private readonly onLog: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void,
  ) {
    this.worker.listen({
      message: (event) => this.route(event),
      error: (message) => this.fail(new EngineError('WORKER_FAILED', 'worker', `the inference worker failed: ${message}`)),
      exit: (code) => this.fail(new EngineError('WORKER_FAILED', 'worker', `the inference worker exited (code ${code})`)),
    });
    // An idle worker must not keep the caller's process alive.
    this.worker.unref?.();
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
    if (this.pending.size === 0) this.worker.unref?.();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(error);
    }
  }

  /** Sends a request; the promise settles with its result. `started` receives the id (for an abort). */
  request<T>(body: RequestBody, handlers: RequestHandlers = {}, started?: (id: number) => void, transfer?: readonly ArrayBuffer[]): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { ...handlers, resolve: resolve as (value: unknown) => void, reject });
      // Work in flight keeps the process alive until it settles.
      this.worker.ref?.();
      this.worker.post({ ...body, id } as WorkerRequest, transfer);
      started?.(id);
    });
  }

  /** Asks the worker to stop request `target` (a generation stops within one token). */
  abort(target: number): void {
    if (this.failure !== undefined || !this.pending.has(target)) return;
    this.worker.post({ type: 'abort', id: this.nextId++, target } satisfies WorkerRequest);
  }

  async terminate(): Promise<void> {
    this.failure ??= new EngineError('ENGINE_DISPOSED', 'engine', 'the engine has been disposed');
    this.fail(this.failure);
    await this.worker.terminate();
  }
}
