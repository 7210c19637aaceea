// The prefill and decode measurement of SmallMind (shared.ts's fastestPasses, as wllama gets it), shared by
// the page runner (smallmind-run.ts, the browser build) and the Node runner (node-run.ts, the Node build), so
// that both sides of "browser / Node" time the same calls on the same prompts.
import type { EngineSession } from '@smallmind/engine/browser';
import { fastestPasses, type BenchRequest, type GenerationFigures } from './shared.js';

/**
 * As on the wllama side: never the byte-fallback pieces (tokens 3-258), nor end-of-sequence (2), so that every
 * engine generates all 64 tokens of the same kind.
 */
const BANNED: Record<number, number> = Object.fromEntries([2, ...Array.from({ length: 256 }, (_, b) => 3 + b)].map((t) => [t, -Infinity]));

/** What is measured of a session (the Node and browser builds' EngineSession, whose private fields differ). */
export type MeasuredSession = Pick<EngineSession, 'reset' | 'generate'>;

/** `fastestPasses` over one session (reset before each completion: no reuse of the previous prompt's KV cache). */
export function measureGeneration(session: MeasuredSession, request: BenchRequest): Promise<GenerationFigures> {
  return fastestPasses(request, async (prompt, maxTokens) => {
    await session.reset();
    const t = (await session.generate(prompt, { maxTokens, temperature: 0, logitBias: BANNED, prefillChunk: request.prefillTokens })).timings;
    return { promptTokens: t.promptEvaluated, promptTokensPerSecond: (t.promptEvaluated / t.promptMs) * 1000, generatedTokens: t.generatedTokens, decodeTokensPerSecond: t.tokensPerSecond };
  });
}
