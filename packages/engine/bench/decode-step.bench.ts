// Decode-step profile: loads one benchmark file (as e2e.bench.ts makes them), runs a 128-token prompt,
// then times `tokens` greedy decode steps and reports ms per token; run under `node --cpu-prof` to see where a
// step goes. Usage (packages/engine): node --conditions=@smallmind/source --import tsx bench/decode-step.bench.ts
// <file.smq> <threads> [tokens]; BENCH_PREFILL_ONLY=1 stops after the prompt (to profile prefill); BENCH_SPIN
// sets the pool's spinIterations; BENCH_TS_ATTENTION=1 hides the backend's KV store (createKvStore), so the
// cache stays in JS arrays and attention runs in TypeScript (A/B).
import { createBackend } from '@smallmind/quantization-kernels';
import { SmqModelLoader, silentLogger } from '@smallmind/runtime';
import { loadavg } from 'node:os';

const [smq, threadsArg, tokensArg] = process.argv.slice(2);
if (smq === undefined) throw new Error('usage: decode-step.bench.ts <file.smq> <threads> [tokens]');
const threads = Number(threadsArg ?? 1);
const tokens = Number(tokensArg ?? 64);
const backend = await createBackend({ threads, ...(process.env.BENCH_SPIN === undefined ? {} : { spinIterations: Number(process.env.BENCH_SPIN) }) });
const t0 = performance.now();
const tsAttention = process.env.BENCH_TS_ATTENTION === '1';
const weightsOnly = { prepare: backend.prepare.bind(backend), ...(backend.allocate === undefined ? {} : { allocate: backend.allocate.bind(backend) }) };
const loaded = await SmqModelLoader.loadFromSmq(smq, { backend: tsAttention ? weightsOnly : backend, logger: silentLogger });
const session = loaded.createSession({ contextSize: 512 });
const loadMs = performance.now() - t0;
const prompt = Array.from({ length: 128 }, (_, i) => 259 + ((i * 7919) % 31000));
const p0 = performance.now();
let logits = session.evaluate(prompt);
const prefillMs = performance.now() - p0;
if (process.env.BENCH_PREFILL_ONLY === '1') {
  console.log(`${backend.name} threads=${threads} prefill ${prompt.length} tokens ${prefillMs.toFixed(0)} ms (${((prompt.length * 1000) / prefillMs).toFixed(2)} tok/s)`);
  process.exit(0);
}
const argmax = (v: Float32Array): number => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
};
const d0 = performance.now();
for (let i = 0; i < tokens; i++) logits = session.evaluate([argmax(logits)]);
const ms = (performance.now() - d0) / tokens;
console.log(`${backend.name}${tsAttention ? ' (TS attention)' : ''} threads=${threads} load ${loadMs.toFixed(0)} ms, prefill ${((prompt.length * 1000) / prefillMs).toFixed(2)} tok/s, decode ${ms.toFixed(1)} ms/token (${(1000 / ms).toFixed(2)} tok/s), load average ${loadavg()[0]!.toFixed(2)}`);
session.dispose();
await loaded.dispose();
await backend.dispose();
