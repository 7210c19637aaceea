// SmallMind in Node (the `@smallmind/engine` Node build, inference in a worker_threads worker) on the same GGUF,
// threads and prompts as the page runs, measured by the same code (generation-measure.ts): the "as fast as
// Node" side of the benchmark. It runs in the driver's own process, between the page measurements.
import { join } from 'node:path';
import { SmallMindEngine, type SmallMindEngineOptions } from '@smallmind/engine';
import { measureGeneration } from './generation-measure.js';
import type { BenchRequest, BenchResult } from './shared.js';

/** Warnings and errors only, as the page runner asks its engine for. */
const logger: NonNullable<SmallMindEngineOptions['logger']> = { debug: () => {}, info: () => {}, warn: (m) => console.error(`  [node] ${m}`), error: (m) => console.error(`  [node] ${m}`) };

/**
 * `gguf` is imported once into `cacheDir` (a cache hit after the first thread count); the load time is the
 * SMQ load (plus that one import), so it is not compared with the pages' download + import + load.
 */
export async function runNodeBench(request: BenchRequest, gguf: string, cacheDir: string): Promise<BenchResult> {
  const engine = new SmallMindEngine({ threads: request.threads, cacheDir: join(cacheDir, 'node-engine-cache'), logger, logLevel: 'warn' });
  try {
    const t0 = performance.now();
    const info = await engine.loadModel({ path: gguf, contextLength: 512 });
    const loadMs = performance.now() - t0;
    const figures = await measureGeneration(await engine.createSession(), request);
    // "wasm-relaxed-simd x2": the backend and the threads it runs with.
    const [backend = info.kernels, used = ''] = info.kernels.split(' x');
    return {
      engine: `SmallMind Node ${process.versions.node} ${backend}`,
      mix: request.mix,
      threadsRequested: request.threads,
      threadsUsed: Number(used) || request.threads,
      loadMs,
      ...figures,
      detail: `${info.imported ? 'imported the GGUF, then ' : ''}loaded the SMQ`,
    };
  } finally {
    await engine.dispose();
  }
}
