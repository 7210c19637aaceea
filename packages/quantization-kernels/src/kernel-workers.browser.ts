/**
 * Browser twin of kernel-workers.ts: kernel threads as Web Workers (a page needs cross-origin isolation for
 * the shared memories they work on). Each worker runs the same WORKER_SOURCE as in Node, with its first
 * lines (worker_threads' workerData and synchronous receiveMessageOnPort) replaced by a prologue that takes
 * the start data and the memory shards from `postMessage`. A browser worker cannot receive a message while it
 * waits on the control words, so it starts its loop once it has shard 0 (the loop copes with a late start)
 * and a further shard cannot reach it: models that need more than one 4 GiB memory run on one thread in a
 * browser (sendShard says so at load time).
 */
import { KernelError } from './errors.js';
import { WORKER_SOURCE } from './worker-source.js';

export interface KernelWorkerData {
  readonly module: WebAssembly.Module;
  readonly control: SharedArrayBuffer;
  readonly threadIndex: number;
  readonly spinIterations: number;
  readonly kernelNames: readonly string[];
}

export interface KernelWorker {
  sendShard(shard: number, memory: WebAssembly.Memory): void;
  takeErrorReport(): string | undefined;
  readonly exited: Promise<void>;
  terminate(): void;
  close(): void;
}

/** The Node worker's first lines, which the browser prologue stands in for. */
const NODE_PROLOGUE = [
  "const { workerData, receiveMessageOnPort } = require('node:worker_threads');",
  'const { module, control, port, threadIndex, spinIterations, kernelNames } = workerData;',
];

/**
 * WORKER_SOURCE for a Web Worker: the loop runs inside `run(workerData)` once the start data and shard 0
 * have arrived; `receiveMessageOnPort` reads the shards that came before; `port.postMessage` reports errors.
 * Undefined when WORKER_SOURCE no longer starts with the lines this replaces (then no threads, not a wrong loop).
 */
export function browserWorkerSource(source: string = WORKER_SOURCE): string | undefined {
  if (!NODE_PROLOGUE.every((line) => source.includes(line))) return undefined;
  let body = source;
  for (const line of NODE_PROLOGUE) body = body.replace(line, '');
  return `'use strict';
const inbox = [];
let workerData;
let started = false;
const port = { postMessage: (message) => self.postMessage(message) };
const receiveMessageOnPort = () => (inbox.length > 0 ? { message: inbox.shift() } : undefined);
function run(workerData) {
  const { module, control, threadIndex, spinIterations, kernelNames } = workerData;
${body.replace(/^'use strict';/m, '')}
}
self.onmessage = (event) => {
  const data = event.data;
  if (workerData === undefined) {
    workerData = data;
    self.postMessage({ ready: true });
    return;
  }
  inbox.push(data);
  if (!started && data.shard === 0) {
    started = true;
    // Leave this handler first: the loop below never returns to the event loop until it exits.
    setTimeout(() => {
      try { run(workerData); } catch (error) { self.postMessage({ error: String((error && error.stack) || error) }); }
      self.postMessage({ exited: true });
      self.close();
    }, 0);
  }
};
`;
}

/** The parts of a DOM Worker used here (this package compiles without the DOM library). */
interface WebWorker {
  postMessage(message: unknown): void;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onerror: ((event: { readonly message?: string }) => void) | null;
  terminate(): void;
}
declare const Worker: new (url: string, options?: { readonly name?: string }) => WebWorker;

let scriptUrl: string | undefined;

export function spawnKernelWorker(data: KernelWorkerData): Promise<KernelWorker> {
  if (typeof Worker === 'undefined') return Promise.reject(new KernelError('WORKER_FAILED', `kernel worker ${data.threadIndex}: no Web Workers here`));
  const source = browserWorkerSource();
  if (source === undefined) return Promise.reject(new KernelError('WORKER_FAILED', `kernel worker ${data.threadIndex}: the worker source changed shape; the browser build cannot start it`));
  scriptUrl ??= URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  let worker: WebWorker;
  try {
    worker = new Worker(scriptUrl, { name: `smallmind-kernels-${data.threadIndex}` });
  } catch (error) {
    return Promise.reject(new KernelError('WORKER_FAILED', `kernel worker ${data.threadIndex} failed to start: ${(error as Error).message}`));
  }
  let lastError: string | undefined;
  let exit: () => void = () => {};
  const exited = new Promise<void>((resolve) => (exit = resolve));
  return new Promise<KernelWorker>((resolve, reject) => {
    worker.onerror = (event) => {
      exit();
      reject(new KernelError('WORKER_FAILED', `kernel worker ${data.threadIndex} failed to start: ${event.message ?? 'script error'}`));
    };
    worker.onmessage = (event) => {
      const message = event.data as { ready?: boolean; error?: string; exited?: boolean };
      if (message.error !== undefined) lastError = message.error;
      if (message.exited === true) exit();
      if (message.ready !== true) return;
      resolve({
        sendShard: (shard, memory) => {
          if (shard > 0) {
            throw new KernelError('OUT_OF_MEMORY', `this model needs more than one 4 GiB kernel memory; in a browser only the first reaches kernel threads, so load it with threads: 1`);
          }
          worker.postMessage({ shard, memory });
        },
        // The report arrives asynchronously; it is there once the caller's thread got back to its event loop.
        takeErrorReport: () => lastError,
        exited,
        terminate: () => {
          worker.terminate();
          exit();
        },
        close: () => {},
      });
    };
    worker.postMessage({ ...data, kernelNames: [...data.kernelNames] });
  });
}
