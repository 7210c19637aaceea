/**
 * The browser transport of the inference worker: a module Web Worker. The default one is created with
 * `new Worker(new URL('./browser-inference-worker.js', import.meta.url), { type: 'module' })`, the form Vite, esbuild,
 * webpack 5 and Parcel recognise and bundle; pass `createWorker` to SmallMindEngine to start it yourself.
 */
import type { WorkerEvent, WorkerRequest } from '../worker/protocol.js';
import type { WorkerTransport } from '../worker/worker-client.js';

/** The part of a DOM `Worker` used here. */
export interface WebWorkerLike {
  postMessage(message: unknown, transfer?: unknown[]): void;
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: { readonly data?: unknown; readonly message?: string }) => void): void;
  terminate(): void;
}

// The DOM's Worker, declared here because this package compiles without the DOM library.
declare const Worker: new (url: URL, options: { readonly type: 'module'; readonly name?: string }) => WebWorkerLike;

/** The engine's own worker, next to this module (dist/browser-inference-worker.js). */
export function defaultWebWorker(): WebWorkerLike {
  if (typeof Worker === 'undefined') throw new Error('Web Workers are not available here');
  // Written literally so that bundlers see the pattern and emit the worker as its own chunk.
  return new Worker(new URL('./browser-inference-worker.js', import.meta.url), { type: 'module', name: 'smallmind-inference' });
}

export function webWorkerTransport(worker: WebWorkerLike): WorkerTransport {
  return {
    post: (message: WorkerRequest, transfer) => worker.postMessage(message, transfer === undefined ? [] : [...transfer]),
    listen: (handlers) => {
      worker.addEventListener('message', (event) => handlers.message(event.data as WorkerEvent));
      worker.addEventListener('error', (event) => handlers.error(event.message ?? 'the worker script failed to load or threw'));
      worker.addEventListener('messageerror', () => handlers.error('a message from the worker could not be read'));
    },
    terminate: () => {
      worker.terminate();
      return Promise.resolve();
    },
  };
}
