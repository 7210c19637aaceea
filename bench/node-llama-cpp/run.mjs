// One node-llama-cpp measurement for packages/engine/bench/e2e.bench.ts (run as a child process):
// load the GGUF on the CPU, prefill the same 128-token prompt, decode 64 tokens greedily, report
// tokens/s and resident memory after load as a `RESULT {json}` line.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const [modelPath, mix, threadsText, promptText, decodeText, repeatText] = process.argv.slice(2);
const repeat = Number(repeatText ?? 1);
const threads = Number(threadsText);
const promptLength = Number(promptText);
const decodeLength = Number(decodeText);
const vocab = 32000;
const prompt = Array.from({ length: promptLength }, (_, i) => 259 + ((i * 7919) % (vocab - 259)));

const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
globalThis.gc?.();
const rssBeforeLoadBytes = process.memoryUsage().rss;
const t0 = performance.now();
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const context = await model.createContext({ contextSize: 512, batchSize: promptLength, threads, flashAttention: false, sequences: 1 });
const loadSeconds = (performance.now() - t0) / 1000;
globalThis.gc?.();
const rssBytes = process.memoryUsage().rss;

// Warm-up pass; every timed pass starts from a cleared sequence.
let sequence = context.getSequence();
await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(0, 16));

// The machine is shared: each pass is timed and the fastest kept.
let prefillSeconds = Infinity;
let decodeSeconds = Infinity;
for (let pass = 0; pass < repeat; pass++) {
  await sequence.clearHistory();
  const p0 = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(prompt);
  prefillSeconds = Math.min(prefillSeconds, (performance.now() - p0) / 1000);
  const d0 = performance.now();
  let generated = 0;
  for await (const token of sequence.evaluate([prompt[0]], { temperature: 0 })) {
    void token;
    if (++generated >= decodeLength) break;
  }
  decodeSeconds = Math.min(decodeSeconds, (performance.now() - d0) / 1000);
}

console.log(`RESULT ${JSON.stringify({
  engine: 'llama.cpp', mix, threads, f32: false, backend: 'node-llama-cpp 3.21.1 (CPU)', loadSeconds, rssBytes, rssBeforeLoadBytes,
  prefillTokensPerSecond: promptLength / prefillSeconds, decodeTokensPerSecond: decodeLength / decodeSeconds,
})}`);
await context.dispose();
await model.dispose();
await llama.dispose();
