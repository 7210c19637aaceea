/**
 * `smallmind bench`: prompt processing (ppN) and text generation (tgN) speed in tokens/s, as llama-bench
 * measures them: ppN evaluates N prompt tokens in a fresh session; tgN generates N tokens one at a time after a
 * single token. Each test runs `repetitions` times after one warm-up; the report is mean and sample stddev.
 */
import { basename } from 'node:path';
import { createTokenizer } from '@smallmind/runtime';
import { CliError, loadEngine, printJson, withModelFile, type EngineFlags, type Output } from './cli-shared.js';
import type { SmallMindEngine } from './engine.js';

export interface BenchFlags extends EngineFlags {
  nPrompt: number;
  nGen: number;
  repetitions: number;
  warmup: boolean;
  json?: boolean;
}

export interface BenchResult {
  readonly test: string;
  readonly nPrompt: number;
  readonly nGen: number;
  /** Tokens per second of each repetition. */
  readonly samples: number[];
  readonly avgTokensPerSecond: number;
  readonly stddevTokensPerSecond: number;
}

/** Mean and sample standard deviation (0 for one sample), as llama-bench reports them. */
export function meanAndStddev(values: readonly number[]): { mean: number; stddev: number } {
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  if (values.length < 2) return { mean, stddev: 0 };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
  return { mean, stddev: Math.sqrt(variance) };
}

/** Deterministic prompt ids spread over the vocabulary, avoiding the first ids (usually control tokens). */
function benchTokens(count: number, vocabSize: number): number[] {
  const span = Math.max(1, vocabSize - 3);
  return Array.from({ length: count }, (_, i) => 3 + ((i * 7919 + 13) % span));
}

/** One run: tokens/s of prefill (`nGen` 0) or of decode. */
async function measure(engine: SmallMindEngine, nPrompt: number, nGen: number, vocabSize: number, bans: Record<number, number>): Promise<number> {
  const session = await engine.createSession();
  try {
    const prompt = { tokens: benchTokens(Math.max(1, nPrompt), vocabSize) };
    // The end-of-generation tokens are banned so that every run generates exactly nGen tokens.
    const result = await session.generate(prompt, { maxTokens: nGen, temperature: 0, logitBias: bans });
    const t = result.timings;
    if (nGen === 0) return t.promptMs > 0 ? (t.promptEvaluated / t.promptMs) * 1000 : 0;
    return t.generateMs > 0 ? (t.generatedTokens / t.generateMs) * 1000 : 0;
  } finally {
    await session.dispose();
  }
}

export async function benchCommand(out: Output, model: string, flags: BenchFlags): Promise<void> {
  const tokenizer = await withModelFile(model, ({ metadata }) => createTokenizer(metadata));
  const bans: Record<number, number> = {};
  for (const id of [tokenizer.eosId, tokenizer.eotId]) if (id !== undefined) bans[id] = -Infinity;
  const { engine, info } = await loadEngine(out, model, flags);
  try {
    const tests: Array<[string, number, number]> = [];
    if (flags.nPrompt > 0) tests.push([`pp${flags.nPrompt}`, flags.nPrompt, 0]);
    if (flags.nGen > 0) tests.push([`tg${flags.nGen}`, 1, flags.nGen]);
    for (const [name, p, n] of tests) {
      if (p + n > info.contextLength) throw new CliError('CONTEXT_TOO_SMALL', `${name} needs ${p + n} tokens of context; the model's window is ${info.contextLength}`);
    }
    if (flags.warmup && tests.length > 0) await measure(engine, Math.min(8, flags.nPrompt || 1), Math.min(2, flags.nGen), info.vocabSize, bans);
    const results: BenchResult[] = [];
    for (const [test, nPrompt, nGen] of tests) {
      const samples: number[] = [];
      for (let r = 0; r < flags.repetitions; r++) samples.push(await measure(engine, nPrompt, nGen, info.vocabSize, bans));
      const { mean, stddev } = meanAndStddev(samples);
      results.push({ test, nPrompt: nGen === 0 ? nPrompt : 0, nGen, samples, avgTokensPerSecond: mean, stddevTokensPerSecond: stddev });
    }
    if (flags.json === true) {
      printJson({ model: basename(model), architecture: info.architecture, kernels: info.kernels, threads: flags.threads ?? null, repetitions: flags.repetitions, results });
      return;
    }
    const name = basename(model);
    const width = Math.max(5, name.length);
    process.stdout.write(`| ${'model'.padEnd(width)} | ${'kernels'.padEnd(24)} | ${'test'.padEnd(8)} | ${'t/s'.padStart(18)} |\n`);
    process.stdout.write(`| ${'-'.repeat(width)} | ${'-'.repeat(24)} | ${'-'.repeat(8)} | ${'-'.repeat(18)} |\n`);
    for (const r of results) {
      const rate = `${r.avgTokensPerSecond.toFixed(2)} ± ${r.stddevTokensPerSecond.toFixed(2)}`;
      process.stdout.write(`| ${name.padEnd(width)} | ${info.kernels.padEnd(24)} | ${r.test.padEnd(8)} | ${rate.padStart(18)} |\n`);
    }
  } finally {
    await engine.dispose();
  }
}
