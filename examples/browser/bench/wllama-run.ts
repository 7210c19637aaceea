// The wllama side of the benchmark, run in the page: @wllama/wllama 3.8.1 (llama.cpp compiled to
// WebAssembly), CPU only (n_gpu_layers 0: the comparison is WebAssembly against WebAssembly), loading the
// same GGUF from the same server. Timings are llama.cpp's own (server-context `timings`).
import { Wllama } from '@wllama/wllama';
import { fastestPasses, type BenchRequest, type BenchResult } from './shared.js';

// BENCH_DEBUG=1 (the driver passes it as `debug`) shows wllama's and llama.cpp's own logs.
const quiet = { debug: () => {}, log: () => {}, info: () => {}, warn: console.warn, error: console.error };

/** llama-server's `[[token, false], ...]`: tokens 3-258 are `<0x00>`-`<0xFF>` in the benchmark models. */
const BYTE_PIECES_NEVER = Array.from({ length: 256 }, (_, b) => [3 + b, false]);

interface Timings {
  readonly prompt_n: number;
  readonly prompt_ms: number;
  readonly predicted_n: number;
  readonly predicted_ms: number;
}

export async function runBench(request: BenchRequest): Promise<BenchResult> {
  const wllama = new Wllama(
    { default: new URL('./wllama/wasm/wllama.wasm', location.href).href },
    request.debug === true ? { logger: console } : { suppressNativeLog: true, logger: quiet },
  );
  // Compat mode would fetch another build from a CDN; Chromium has JSPI and memory64, so it is not needed.
  wllama.setCompat(null);
  const t0 = performance.now();
  const response = await fetch(request.modelUrl);
  if (!response.ok) throw new Error(`GET ${request.modelUrl}: HTTP ${response.status}`);
  const blob = await response.blob();
  await wllama.loadModel([blob], { n_threads: request.threads, n_ctx: 512, n_batch: request.prefillTokens, n_ubatch: request.prefillTokens, n_gpu_layers: 0, n_parallel: 1 });
  const loadMs = performance.now() - t0;

  const complete = async (prompt: string, maxTokens: number): Promise<Timings> => {
    const result = await wllama.createCompletion({
      prompt,
      max_tokens: maxTokens,
      temperature: 0,
      ignore_eos: true,
      stream: false,
      // llama-server's own fields: no reuse of the previous prompt's cache between passes; and never the
      // byte-fallback pieces, whose random sequences are invalid UTF-8 that its JSON reply cannot carry
      // (a constant logit bias of 256 entries costs nothing next to a 32000 x 2048 output matmul).
      ...{ cache_prompt: false, logit_bias: BYTE_PIECES_NEVER },
    });
    if (result.timings === undefined) throw new Error('wllama returned no timings');
    return result.timings;
  };
  console.info(`wllama: loaded in ${loadMs.toFixed(0)} ms`);
  const figures = await fastestPasses(request, async (prompt, maxTokens) => {
    const t = await complete(prompt, maxTokens);
    // predicted_ms covers the tokens after the first, which the prompt pass samples.
    return { promptTokens: t.prompt_n, promptTokensPerSecond: (t.prompt_n / t.prompt_ms) * 1000, generatedTokens: t.predicted_n, decodeTokensPerSecond: (t.predicted_n / t.predicted_ms) * 1000 };
  });
  const result: BenchResult = {
    engine: 'wllama 3.8.1',
    mix: request.mix,
    threadsRequested: request.threads,
    threadsUsed: wllama.isMultithread() ? wllama.getNumThreads() : 1,
    loadMs,
    ...figures,
    detail: `llama.cpp ${Wllama.getLibllamaVersion()}, multithread ${wllama.isMultithread()}`,
  };
  await wllama.exit();
  return result;
}
