// What one benchmark measurement takes and returns; shared by the page runners and the node driver.

export interface BenchRequest {
  readonly modelUrl: string;
  readonly mix: string;
  readonly threads: number;
  /** Prompt length of the prefill measurement. */
  readonly prefillTokens: number;
  /** Prompt length of the decode measurement. */
  readonly decodePromptTokens: number;
  /** Tokens generated greedily in the decode measurement. */
  readonly decodeTokens: number;
  /** Timed passes of each measurement; the fastest is kept (the machine is shared). */
  readonly repeat: number;
  readonly vocab: number;
  /** Engine logs on the console (the driver prints them). */
  readonly debug?: boolean;
  /**
   * SmallMind only: also load through an emptied OPFS cache twice (first: download + import into OPFS + load;
   * second: load from OPFS, no download or import).
   */
  readonly opfs?: boolean;
}

export interface BenchResult extends GenerationFigures {
  readonly engine: string;
  readonly mix: string;
  readonly threadsRequested: number;
  /** Threads the engine reports it runs with (an engine may fall back to 1 without isolation). */
  readonly threadsUsed: number;
  /** From `fetch` of the GGUF to a model ready to generate. */
  readonly loadMs: number;
  readonly detail: string;
  /** With `opfs`: the first load through an emptied OPFS cache and the second one, from it. */
  /** SmallMind, cache none: seconds spent in each load phase (first to last progress event of it). */
  readonly phases?: { readonly download: number; readonly import: number; readonly load: number };
  readonly opfsFirstLoadMs?: number;
  readonly opfsSecondLoadMs?: number;
}

/**
 * A text prompt that tokenizes to `length` tokens in the benchmark models' vocabulary: it has no piece for
 * plain letters (its pieces are `▁w<i>`), so each letter is one byte-fallback token, after BOS and the three
 * byte tokens of the leading `▁` that SPM adds. Both engines get the same text (wllama takes no token ids);
 * the runners report the prompt length each engine counted.
 */
export function benchText(length: number): string {
  if (length < 5) throw new Error(`benchText: length ${length} < 5`);
  return Array.from({ length: length - 4 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('');
}

/** What the prefill and decode measurements report (fastestPasses). */
export interface GenerationFigures {
  readonly prefillTokensPerSecond: number;
  /** Prompt tokens the engine evaluated in the prefill pass (should equal `prefillTokens`). */
  readonly prefillTokensCounted: number;
  readonly decodeTokensPerSecond: number;
  readonly decodeTokensGenerated: number;
}

/** What one completion reports, in each engine's own timings. */
export interface CompletionTimings {
  readonly promptTokens: number;
  readonly promptTokensPerSecond: number;
  readonly generatedTokens: number;
  readonly decodeTokensPerSecond: number;
}

/**
 * The measurement every engine gets: one warm-up, then `request.repeat` passes of prefill (a
 * `prefillTokens` prompt, one token) and decode (a `decodePromptTokens` prompt, `decodeTokens` tokens),
 * interleaved; the fastest of each is kept. `complete` runs one completion from a fresh cache.
 */
export async function fastestPasses(request: BenchRequest, complete: (prompt: string, maxTokens: number) => Promise<CompletionTimings>): Promise<GenerationFigures> {
  await complete(benchText(16), 4); // warm-up
  let prefill = 0;
  let decode = 0;
  let generated = 0;
  let promptCounted = 0;
  for (let pass = 0; pass < request.repeat; pass++) {
    const p = await complete(benchText(request.prefillTokens), 1);
    prefill = Math.max(prefill, p.promptTokensPerSecond);
    promptCounted = p.promptTokens;
    const d = await complete(benchText(request.decodePromptTokens), request.decodeTokens);
    decode = Math.max(decode, d.decodeTokensPerSecond);
    generated = d.generatedTokens;
  }
  return { prefillTokensPerSecond: prefill, prefillTokensCounted: promptCounted, decodeTokensPerSecond: decode, decodeTokensGenerated: generated };
}
