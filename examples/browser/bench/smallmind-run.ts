// The SmallMind side of the benchmark, run in the page: `@smallmind/engine/browser` with its inference worker
// bundled next to this file, loading the same GGUF from the same server as wllama (cache 'none': the load is
// download + import + load every time, as wllama's is download + load).
import { OpfsModelCache, SmallMindEngine } from '@smallmind/engine/browser';
import { benchText, type BenchRequest, type BenchResult } from './shared.js';

/**
 * As on the wllama side: never the byte-fallback pieces (tokens 3-258), nor end-of-sequence (2), so that both
 * engines generate all 64 tokens of the same kind.
 */
const BANNED: Record<number, number> = Object.fromEntries([2, ...Array.from({ length: 256 }, (_, b) => 3 + b)].map((t) => [t, -Infinity]));

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
    const session = await engine.createSession();
    const complete = async (prompt: string, maxTokens: number) => {
      // A fresh start each time: no reuse of the previous prompt's KV cache.
      await session.reset();
      const result = await session.generate(prompt, { maxTokens, temperature: 0, logitBias: BANNED, prefillChunk: request.prefillTokens });
      return result.timings;
    };
    await complete(benchText(16), 4); // warm-up
    let prefill = 0;
    let decode = 0;
    let generated = 0;
    let promptCounted = 0;
    for (let pass = 0; pass < request.repeat; pass++) {
      const p = await complete(benchText(request.prefillTokens), 1);
      prefill = Math.max(prefill, (p.promptEvaluated / p.promptMs) * 1000);
      promptCounted = p.promptEvaluated;
      const d = await complete(benchText(request.decodePromptTokens), request.decodeTokens);
      decode = Math.max(decode, d.tokensPerSecond);
      generated = d.generatedTokens;
    }
    const r = engine.runtime;
    return {
      engine: `SmallMind ${r.backend}`,
      mix: request.mix,
      threadsRequested: request.threads,
      threadsUsed: r.threads,
      loadMs,
      prefillTokensPerSecond: prefill,
      prefillTokensCounted: promptCounted,
      decodeTokensPerSecond: decode,
      decodeTokensGenerated: generated,
      detail: `crossOriginIsolated ${r.crossOriginIsolated}, cache ${r.cache}; load phases download ${phases.download.toFixed(1)} s, import ${phases.import.toFixed(1)} s, load ${phases.load.toFixed(1)} s`,
      phases,
    };
  } finally {
    await engine.dispose();
  }
}
