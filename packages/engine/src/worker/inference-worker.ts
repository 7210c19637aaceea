/**
 * Entry point of the inference worker (Node worker_threads). The protocol handling is in
 * `InferenceService`; this file only connects it to `parentPort`. Requests run one at a time in arrival
 * order, except `abort` (handled at once, so a running generation sees it at its next token) and
 * generations, which run side by side: each yields after every token, so sessions interleave token by
 * token (a server's parallel slots) instead of waiting for each other.
 */
import { parentPort } from 'node:worker_threads';
import { InferenceService } from './inference-service.js';
import type { WorkerEvent, WorkerRequest } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('inference-worker must run in a worker thread');

const service = new InferenceService((event: WorkerEvent) => port.postMessage(event));
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  if (request.type === 'abort' || request.type === 'session.generate') {
    void service.handle(request);
    return;
  }
  queue = queue.then(() => service.handle(request));
});
