/**
 * Entry point of the inference worker (Node worker_threads). The protocol handling is in `InferenceService`
 * (and its order in `requestScheduler`); this file only connects it to `parentPort` and opens SMQ files by path.
 */
import { parentPort } from 'node:worker_threads';
import { openModel } from '../model-loading.js';
import { InferenceService, requestScheduler } from './inference-service.js';
import type { WorkerEvent, WorkerRequest } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('inference-worker must run in a worker thread');

const schedule = requestScheduler(new InferenceService((event: WorkerEvent) => port.postMessage(event), openModel));
port.on('message', (request: WorkerRequest) => schedule(request));
