// The prefill and decode measurement of SmallMind, shared by the page runner (smallmind-run.ts, the browser
// build) and the Node runner (node-run.ts, the Node build), so that both sides of "browser / Node" time the
// same calls on the same prompts.
import type { EngineSession } from '@smallmind/engine/browser';
import { benchText, type BenchRequest } from './shared.js';

/**
 * As on the wllama side: never the byte-fallback pieces (tokens 3-258), nor end-of-sequence (2), so that every
 * engine generates all 64 tokens of the same kind.
 */
const BANNED: Record<number, number> = Object.fromEntries([2, ...Array.from({ length: 256 }, (_, b) => 3 + b)].map((t) => [t, -Infinity]));

/** What is measured of a session (the Node and browser builds' EngineSession, whose private fields differ). */
export type MeasuredSession = Pick<EngineSession, 'reset' | 'generate'>;

export interface GenerationFigures {
  readonly prefillTokensPerSecond: number;
  readonly prefillTokensCounted: number;
  readonly decodeTokensPerSecond: number;
  readonly decodeTokensGenerated: number;
}

/** One warm-up, then `request.repeat` passes of prefill and decode, interleaved; the fastest of each is kept. */
export async function measureGeneration(session: MeasuredSession, request: BenchRequest): Promise<GenerationFigures> {
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
  return { prefillTokensPerSecond: prefill, prefillTokensCounted: promptCounted, decodeTokensPerSecond: decode, decodeTokensGenerated: generated };
}
