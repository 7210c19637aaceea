/**
 * Sampler benchmark: microseconds per `sample()` over a qwen2-sized vocabulary (151,936 logits), for the
 * filters that use partial selection, next to the full sort of the vocabulary they replace.
 *
 *   pnpm --filter @smallmind/runtime exec tsx bench/sampling.ts
 *
 * The logits are Gaussian (sigma 2.5, seeded): their softmax is spread like a real model's on open text,
 * so top-p 0.95 needs a nucleus of thousands of tokens, the hard case for a partial selection.
 */
import { Sampler, createRng } from '../src/index.js';

const VOCAB = 151_936;
const rng = createRng(7);
const logits = new Float32Array(VOCAB);
for (let i = 0; i < VOCAB; i++) {
  // Box-Muller.
  const u = Math.max(rng(), 1e-12);
  logits[i] = 2.5 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

function time(label: string, run: () => number, iterations = 200): void {
  for (let i = 0; i < 20; i++) run();
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < iterations; i++) sink ^= run();
  const us = ((performance.now() - t0) * 1000) / iterations;
  console.log(`${label.padEnd(44)} ${us.toFixed(0).padStart(7)} us/token   (${sink >= 0 ? 'ok' : ''})`);
}

/** What the sampler did before partial selection: sort every id, then cut. */
function fullSortSample(values: Float32Array, topK: number, topP: number, draw: () => number): number {
  const order = Int32Array.from(values.keys());
  order.sort((a, b) => values[b]! - values[a]! || a - b);
  let kept = topK > 0 ? Math.min(topK, order.length) : order.length;
  const max = values[order[0]!]!;
  let total = 0;
  for (let i = 0; i < kept; i++) total += Math.exp(values[order[i]!]! - max);
  let cumulative = 0;
  for (let i = 0; i < kept; i++) {
    cumulative += Math.exp(values[order[i]!]! - max) / total;
    if (cumulative >= topP) {
      kept = i + 1;
      break;
    }
  }
  return order[Math.floor(draw() * kept)]!;
}

const cases: Array<[string, ConstructorParameters<typeof Sampler>[0]]> = [
  ['greedy', { temperature: 0 }],
  ['temperature 0.8 (no filter)', { temperature: 0.8, seed: 1 }],
  ['top-k 40', { temperature: 0.8, topK: 40, seed: 1 }],
  ['top-p 0.95', { temperature: 0.8, topP: 0.95, seed: 1 }],
  ['top-p 0.5', { temperature: 0.8, topP: 0.5, seed: 1 }],
  ['llama.cpp defaults (k 40, p 0.95, min-p 0.05)', { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, seed: 1 }],
  ['min-p 0.05 alone', { temperature: 0.8, minP: 0.05, seed: 1 }],
  ['penalties (repeat 1.1, 64 tokens)', { temperature: 0.8, topK: 40, repeatPenalty: 1.1, seed: 1 }],
];
console.log(`vocabulary ${VOCAB}, node ${process.version}`);
for (const [label, options] of cases) {
  const sampler = new Sampler(options);
  for (let i = 0; i < 64; i++) sampler.accept((i * 2654435761) % VOCAB);
  time(label, () => sampler.sample(logits));
}
const draw = createRng(1);
time('full sort, top-k 40 (before)', () => fullSortSample(logits, 40, 1, draw), 20);
time('full sort, top-p 0.95 (before)', () => fullSortSample(logits, 0, 0.95, draw), 20);
