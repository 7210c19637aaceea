/**
 * Messages between the engine (the caller's thread) and its inference worker. Everything is structured-
 * cloneable data, so the same protocol runs over Node's worker_threads and a browser's Web Worker.
 * Requests carry an `id`; the worker answers each with exactly one `result` or `error`, and may send
 * `progress` (loading) or `chunk` (generation) events with the same id before that.
 */
import type { SamplingOptions, SessionOptions } from '@smallmind/runtime';
import type { ChatMessage } from '../chat/index.js';

/**
 * A model as a browser hands it to its worker: a URL (fetched there), a Blob/File (structured-cloned, not
 * copied), or bytes (transferred).
 */
export type WireModelSource =
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'blob'; readonly blob: Blob }
  | { readonly kind: 'bytes'; readonly bytes: ArrayBuffer };

/** What the worker needs to open a model (paths and plain options; no callbacks). */
export interface WorkerLoadOptions {
  /** Node: the SMQ file (the caller has already imported a GGUF into the cache). */
  readonly path?: string;
  /** Browser: the model itself (GGUF or SMQ), imported into the OPFS cache when `cache` is `opfs`. */
  readonly source?: WireModelSource;
  readonly cache?: 'opfs' | 'none';
  /** Browser: after an import, evict the least recently used other OPFS entries beyond this many bytes. */
  readonly cacheMaxBytes?: number;
  readonly preserveQuantization?: boolean;
  readonly threads?: number;
  readonly kernels?: 'wasm' | 'reference';
  /** Log messages at or above this level are forwarded to the caller's logger. */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

/** Facts about the loaded model, returned by `load`. */
export interface WorkerModelInfo {
  readonly smqPath: string;
  readonly imported: boolean;
  /** Browser: the model came from the OPFS cache (no download, no import). */
  readonly fromCache?: boolean;
  /** Browser: what the worker runs on (threads, kernels, isolation, cache). */
  readonly runtime?: WorkerRuntimeInfo;
  readonly architecture: string;
  readonly contextLength: number;
  readonly vocabSize: number;
  readonly kernels: string;
  readonly chatTemplate: string | undefined;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly addBos: boolean;
}

export interface WorkerRuntimeInfo {
  readonly threads: number;
  readonly backend: 'relaxed-simd' | 'simd128' | 'reference';
  readonly crossOriginIsolated: boolean;
  readonly cache: 'opfs' | 'none';
}

/** What to continue from. */
export type GenerateInput =
  | { readonly kind: 'text'; readonly text: string; readonly addBos?: boolean }
  | { readonly kind: 'tokens'; readonly tokens: readonly number[] }
  | {
      readonly kind: 'chat';
      readonly messages: readonly ChatMessage[];
      /** A template to use instead of the model's (or a builtin name: `chatml`, `plain`). */
      readonly template?: string;
      readonly tools?: readonly unknown[];
      /**
       * When the rendered conversation plus `maxTokens` does not fit the window: `truncate-history` drops the
       * oldest turns after a leading system message until it does; `error` fails with CONTEXT_FULL.
       */
      readonly overflow: 'truncate-history' | 'error';
    };

export interface WorkerGenerateOptions extends SamplingOptions {
  readonly maxTokens: number;
  readonly stop: readonly string[];
  /** Prompt tokens per prefill pass (an abort is noticed between passes). */
  readonly prefillChunk: number;
}

export type FinishReason = 'stop' | 'length' | 'abort' | 'eos';

export interface GenerationTimings {
  /** Tokens of the prompt. */
  readonly promptTokens: number;
  /** Of those, how many were already in the session's KV cache (a shared prefix) and were not evaluated. */
  readonly cachedTokens: number;
  /** Prompt tokens evaluated by this call (llama-server's `prompt_n`). */
  readonly promptEvaluated: number;
  readonly promptMs: number;
  readonly generatedTokens: number;
  readonly generateMs: number;
  /** Generated tokens per second (0 when none). */
  readonly tokensPerSecond: number;
}

export interface WorkerGenerateResult {
  readonly text: string;
  readonly tokens: number[];
  readonly finishReason: FinishReason;
  /** The stop string that ended generation (finishReason `stop`). */
  readonly stop?: string;
  /** Chat: how many of the oldest messages (after a system message) were left out to fit the window. */
  readonly droppedMessages: number;
  readonly timings: GenerationTimings;
}

export type WorkerRequest =
  | { readonly type: 'load'; readonly id: number; readonly options: WorkerLoadOptions }
  | { readonly type: 'session.create'; readonly id: number; readonly options: SessionOptions }
  | {
      readonly type: 'session.generate';
      readonly id: number;
      readonly session: number;
      readonly input: GenerateInput;
      readonly options: WorkerGenerateOptions;
    }
  | { readonly type: 'session.truncate'; readonly id: number; readonly session: number; readonly length: number }
  | { readonly type: 'session.dispose'; readonly id: number; readonly session: number }
  | { readonly type: 'tokenize'; readonly id: number; readonly text: string; readonly addBos?: boolean; readonly parseSpecial?: boolean }
  | { readonly type: 'detokenize'; readonly id: number; readonly tokens: readonly number[] }
  | { readonly type: 'chat.render'; readonly id: number; readonly messages: readonly ChatMessage[]; readonly template?: string; readonly addGenerationPrompt: boolean }
  | { readonly type: 'abort'; readonly id: number; readonly target: number }
  | { readonly type: 'unload'; readonly id: number };

/** An error as it crosses the thread boundary: the class name, its code and field, the message. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly field?: string;
}

export type WorkerEvent =
  | { readonly type: 'result'; readonly id: number; readonly value: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError }
  | {
      readonly type: 'progress';
      readonly id: number;
      readonly phase: 'download' | 'import' | 'load';
      /** Bytes. */
      readonly done: number;
      readonly total: number;
      /** Tensors. */
      readonly itemsDone: number;
      readonly itemsTotal: number;
    }
  | { readonly type: 'chunk'; readonly id: number; readonly text: string; readonly tokens: readonly number[] }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly message: string };

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const { code, field, key, tensorName } = error as Error & { code?: unknown; field?: unknown; key?: unknown; tensorName?: unknown };
    const where = field ?? key ?? tensorName;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(typeof where === 'string' ? { field: where } : {}),
    };
  }
  return { name: 'Error', message: String(error) };
}
