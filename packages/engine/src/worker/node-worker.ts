/**
 * The Node transport of the inference worker: worker_threads running the built `inference-worker.js` next to
 * this module (from sources, the `.ts` file through tsx, as in this repository's tests).
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerEvent } from './protocol.js';
import type { WorkerTransport } from './worker-client.js';

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

/** Starts the inference worker thread. */
export function startNodeWorker(): WorkerTransport {
  const worker = startWorker();
  return {
    post: (message) => worker.postMessage(message),
    listen: (handlers) => {
      worker.on('message', (event: WorkerEvent) => handlers.message(event));
      worker.on('error', (error) => handlers.error(error.message));
      worker.on('exit', (code) => handlers.exit(code));
    },
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    terminate: async () => {
      await worker.terminate();
    },
  };
}
