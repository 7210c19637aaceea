// The SmallMind side of the benchmark, run in the page: `@smallmind/engine/browser` with its inference worker
// bundled next to this file, loading the same GGUF from the same server as wllama (cache 'none': the load is
// download + import + load every time, as wllama's is download + load).
import { OpfsModelCache, SmallMindEngine } from '@smallmind/engine/browser';
import { measureGeneration } from './generation-measure.js';
import type { BenchRequest, BenchResult } from './shared.js';

function newEngine(request: BenchRequest, cache: 'none' | 'opfs'): SmallMindEngine {
  return new SmallMindEngine({
    threads: request.threads,
    cache,
    logLevel: request.debug === true ? 'debug' : 'warn',
    createWorker: () => new Worker(new URL('./smallmind-worker.js', import.meta.url), { type: 'module' }),
  });
}

/** Milliseconds to load the model into a fresh engine with `cache`; checks that the load came from where it should. */
async function timedLoad(request: BenchRequest, cache: 'opfs', expect: 'imported' | 'fromCache'): Promise<number> {
  const engine = newEngine(request, cache);
  try {
    const t0 = performance.now();
    const info = await engine.loadModel({ source: request.modelUrl, contextLength: 512 });
    const ms = performance.now() - t0;
    if (!info[expect]) throw new Error(`OPFS load expected ${expect}, got imported ${info.imported}, fromCache ${info.fromCache}`);
    return ms;
  } finally {
    await engine.dispose();
  }
}

/** First load through an emptied OPFS cache (download + import + load), then the second one, from OPFS. */
async function opfsLoads(request: BenchRequest): Promise<{ opfsFirstLoadMs: number; opfsSecondLoadMs: number }> {
  const root = await OpfsModelCache.root();
  if (root === undefined) throw new Error('no OPFS in this browser');
  await (await OpfsModelCache.open(root)).clear();
  try {
    const opfsFirstLoadMs = await timedLoad(request, 'opfs', 'imported');
    const opfsSecondLoadMs = await timedLoad(request, 'opfs', 'fromCache');
    return { opfsFirstLoadMs, opfsSecondLoadMs };
  } finally {
    await (await OpfsModelCache.open(root)).clear();
  }
}

export async function runBench(request: BenchRequest): Promise<BenchResult> {
  const result = await measure(request);
  return request.opfs === true ? { ...result, ...(await opfsLoads(request)) } : result;
}

async function measure(request: BenchRequest): Promise<BenchResult> {
  const engine = newEngine(request, 'none');
  try {
    const t0 = performance.now();
    // Each phase from the end of the previous one to its last progress event.
    const ends: Partial<Record<'download' | 'import' | 'load', number>> = {};
    await engine.loadModel({ source: request.modelUrl, contextLength: 512, onProgress: (p) => void (ends[p.phase] = performance.now()) });
    const loadMs = performance.now() - t0;
    const download = (ends.download ?? t0) - t0;
    const phases = { download: download / 1000, import: ((ends.import ?? t0 + download) - t0 - download) / 1000, load: ((ends.load ?? t0) - (ends.import ?? t0 + download)) / 1000 };
    const figures = await measureGeneration(await engine.createSession(), request);
    const r = engine.runtime;
    return {
      engine: `SmallMind ${r.backend}`,
      mix: request.mix,
      threadsRequested: request.threads,
      threadsUsed: r.threads,
      loadMs,
      ...figures,
      detail: `crossOriginIsolated ${r.crossOriginIsolated}, cache ${r.cache}; load phases download ${phases.download.toFixed(1)} s, import ${phases.import.toFixed(1)} s, load ${phases.load.toFixed(1)} s`,
      phases,
    };
  } finally {
    await engine.dispose();
  }
}
