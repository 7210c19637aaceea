// The page's URL contract (used by the Chromium tests and by anyone scripting the page):
//   index.html?model=<url>&prompt=<text>&n=<int>&temperature=<number>[&threads=<int>][&cache=opfs|none][&chat=0|1]
// loads the model, generates n tokens, writes the text into #output and then one JSON summary into #result.

export interface AutoRun {
  readonly model: string;
  readonly prompt: string;
  readonly maxTokens: number;
  readonly temperature: number;
  readonly threads: number | undefined;
  readonly cache: 'opfs' | 'none' | undefined;
  /** Apply the model's chat template when it has one (default true). */
  readonly chat: boolean;
}

export type ParsedContract = { readonly ok: true; readonly run: AutoRun | undefined } | { readonly ok: false; readonly error: string };

/** What #result holds at the end of an automatic run. */
export type RunSummary =
  | {
      readonly ok: true;
      readonly text: string;
      readonly tokens: readonly number[];
      readonly threads: number;
      readonly backend: string;
      readonly crossOriginIsolated: boolean;
      readonly tokensPerSecond: number;
      readonly finishReason: string;
      readonly fromCache: boolean;
      readonly loadMs: number;
      readonly chatTemplateApplied: boolean;
    }
  | { readonly ok: false; readonly error: string; readonly code?: string };

function integer(params: URLSearchParams, name: string, min: number): number | string | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) return `${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`;
  return value;
}

/** Reads the query string; no `model` means the interactive page (run undefined). */
export function parseContract(search: string): ParsedContract {
  const params = new URLSearchParams(search);
  const model = params.get('model');
  if (model === null || model === '') return { ok: true, run: undefined };
  const n = integer(params, 'n', 1);
  if (typeof n === 'string') return { ok: false, error: n };
  const threads = integer(params, 'threads', 1);
  if (typeof threads === 'string') return { ok: false, error: threads };
  const rawTemperature = params.get('temperature') ?? '0';
  const temperature = Number(rawTemperature);
  if (rawTemperature.trim() === '' || !Number.isFinite(temperature) || temperature < 0) {
    return { ok: false, error: `temperature must be a number >= 0, got ${JSON.stringify(rawTemperature)}` };
  }
  const cache = params.get('cache');
  if (cache !== null && cache !== 'opfs' && cache !== 'none') return { ok: false, error: `cache must be opfs or none, got ${JSON.stringify(cache)}` };
  const chat = params.get('chat');
  if (chat !== null && chat !== '0' && chat !== '1') return { ok: false, error: `chat must be 0 or 1, got ${JSON.stringify(chat)}` };
  return {
    ok: true,
    run: {
      model,
      prompt: params.get('prompt') ?? '',
      maxTokens: n ?? 32,
      temperature,
      threads,
      cache: cache ?? undefined,
      chat: chat !== '0',
    },
  };
}
