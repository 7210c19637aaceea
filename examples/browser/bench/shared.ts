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

export interface BenchResult {
  readonly engine: string;
  readonly mix: string;
  readonly threadsRequested: number;
  /** Threads the engine reports it runs with (an engine may fall back to 1 without isolation). */
  readonly threadsUsed: number;
  /** From `fetch` of the GGUF to a model ready to generate. */
  readonly loadMs: number;
  readonly prefillTokensPerSecond: number;
  /** Prompt tokens the engine evaluated in the prefill pass (should equal `prefillTokens`). */
  readonly prefillTokensCounted: number;
  readonly decodeTokensPerSecond: number;
  readonly decodeTokensGenerated: number;
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
