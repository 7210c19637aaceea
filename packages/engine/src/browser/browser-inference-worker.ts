/**
 * Entry point of the browser's inference worker (a module Web Worker): binds `InferenceService` to
 * `self.onmessage`, with the browser opener (URL / Blob / bytes, OPFS cache). Requests run in the same order
 * as in Node (`requestScheduler`).
 */
import { InferenceService, requestScheduler } from '../worker/inference-service.js';
import type { WorkerEvent, WorkerRequest } from '../worker/protocol.js';
import { openBrowserModel } from './open-model.js';

interface WorkerScope {
  postMessage(message: WorkerEvent): void;
  onmessage: ((event: { readonly data: WorkerRequest }) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const schedule = requestScheduler(new InferenceService((event) => scope.postMessage(event), (options, hooks) => openBrowserModel(options, hooks)));
scope.onmessage = (event) => schedule(event.data);
