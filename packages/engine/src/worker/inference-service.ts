/**
 * The inference worker's side of the protocol, independent of the transport (Node worker_threads or a Web
 * Worker): one loaded model, any number of sessions, generation as a loop that yields to the event loop after
 * every token and every prefill pass, so an `abort` message is seen within one token (or one pass).
 */
import { InvalidInputError, Sampler, type Model, type Session } from '@smallmind/runtime';
import { chatPromptTokens, renderChatTemplate, selectChatTemplate } from '../chat/index.js';
import { EngineError } from '../errors.js';
import { GenerationTextStream } from '../generation/index.js';
import type { OpenHooks, OpenedModel } from '../model-open.js';
import {
  toWireError,
  type FinishReason,
  type GenerateInput,
  type WorkerEvent,
  type WorkerGenerateOptions,
  type WorkerGenerateResult,
  type WorkerLoadOptions,
  type WorkerModelInfo,
  type WorkerRequest,
} from './protocol.js';

/** Gives queued messages (an abort) a chance to run: setImmediate in Node, a MessageChannel hop elsewhere. */
function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    (channel.port1 as unknown as { onmessage: (() => void) | null }).onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

/** A session plus the tokens its cache holds, for prefix reuse. */
interface SessionEntry {
  readonly session: Session;
  /** Exactly the tokens evaluated into the cache, in order. */
  tokens: number[];
  /** A generation is running on this session (one at a time per session). */
  busy: boolean;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class InferenceService {
  private opened: OpenedModel | undefined;
  private readonly sessions = new Map<number, SessionEntry>();
  private nextSession = 1;
  private readonly aborted = new Set<number>();

  constructor(
    private readonly post: (event: WorkerEvent) => void,
    /** How `load` opens a model: an SMQ path in Node (model-loading.ts), a URL/Blob/bytes in a browser. */
    private readonly open: (options: WorkerLoadOptions, hooks: OpenHooks) => Promise<OpenedModel>,
  ) {}

  private get model(): Model {
    if (this.opened === undefined) throw new EngineError('NO_MODEL_LOADED', 'model', 'no model is loaded in this worker');
    return this.opened.model;
  }

  /** Handles one request; never throws (errors go back as `error` events). */
  async handle(request: WorkerRequest): Promise<void> {
    if (request.type === 'abort') {
      this.aborted.add(request.target);
      this.post({ type: 'result', id: request.id, value: null });
      return;
    }
    try {
      const value = await this.dispatch(request);
      this.post({ type: 'result', id: request.id, value });
    } catch (error) {
      this.post({ type: 'error', id: request.id, error: toWireError(error) });
    } finally {
      this.aborted.delete(request.id);
    }
  }

  private async dispatch(request: Exclude<WorkerRequest, { type: 'abort' }>): Promise<unknown> {
    switch (request.type) {
      case 'load':
        return this.load(request.id, request.options);
      case 'unload':
        await this.unload();
        return null;
      case 'session.create': {
        const id = this.nextSession++;
        this.sessions.set(id, { session: this.model.createSession(request.options), tokens: [], busy: false });
        return { session: id, contextSize: this.sessions.get(id)!.session.contextSize };
      }
      case 'session.truncate': {
        const entry = this.entry(request.session);
        if (entry.busy) throw new EngineError('SESSION_BUSY', 'session', `session ${request.session} is generating`);
        const length = Math.min(request.length, entry.tokens.length);
        entry.session.truncate(length);
        entry.tokens.length = length;
        return null;
      }
      case 'session.dispose': {
        this.sessions.get(request.session)?.session.dispose();
        this.sessions.delete(request.session);
        return null;
      }
      case 'session.generate': {
        const entry = this.entry(request.session);
        if (entry.busy) throw new EngineError('SESSION_BUSY', 'session', `session ${request.session} is already generating; wait for it or use another session`);
        entry.busy = true;
        try {
          return await this.generate(request.id, entry, request.input, request.options);
        } finally {
          entry.busy = false;
        }
      }
      case 'tokenize':
        return this.model.tokenizer.encode(request.text, {
          ...(request.addBos === undefined ? {} : { addBos: request.addBos }),
          ...(request.parseSpecial === undefined ? {} : { parseSpecial: request.parseSpecial }),
        });
      case 'detokenize':
        this.model.checkTokens(request.tokens);
        return this.model.tokenizer.decode(request.tokens);
      case 'chat.render': {
        const model = this.model;
        const template = selectChatTemplate(model.chatTemplate, request.template);
        return renderChatTemplate(template, request.messages, {
          addGenerationPrompt: request.addGenerationPrompt,
          bosToken: pieceOf(model, model.tokenizer.bosId),
          eosToken: pieceOf(model, model.tokenizer.eosId),
        });
      }
    }
  }

  private entry(id: number): SessionEntry {
    const entry = this.sessions.get(id);
    if (entry === undefined) throw new EngineError('INVALID_OPTION', 'session', `session ${id} does not exist (disposed?)`);
    return entry;
  }

  private async load(id: number, options: WorkerLoadOptions): Promise<WorkerModelInfo> {
    await this.unload();
    const opened = await this.open(options, {
      aborted: () => this.aborted.has(id),
      log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => this.post({ type: 'log', level, message }),
      progress: (phase: 'download' | 'import' | 'load', done: number, total: number, itemsDone: number, itemsTotal: number) =>
        this.post({ type: 'progress', id, phase, done, total, itemsDone, itemsTotal }),
    });
    this.opened = opened;
    const { model } = opened;
    return {
      smqPath: opened.smqPath,
      imported: opened.imported,
      ...(opened.fromCache === undefined ? {} : { fromCache: opened.fromCache }),
      ...(opened.runtime === undefined ? {} : { runtime: opened.runtime }),
      architecture: model.config.architecture,
      contextLength: model.config.contextLength,
      vocabSize: model.tokenizer.vocabSize,
      kernels: opened.kernels,
      chatTemplate: model.chatTemplate,
      bosId: model.tokenizer.bosId,
      eosId: model.tokenizer.eosId,
      addBos: model.tokenizer.addBos,
    };
  }

  private async unload(): Promise<void> {
    for (const entry of this.sessions.values()) entry.session.dispose();
    this.sessions.clear();
    const opened = this.opened;
    this.opened = undefined;
    await opened?.dispose();
  }

  /** The prompt's tokens, and for a chat how many old messages were dropped to fit `limit` tokens. */
  private promptTokens(input: GenerateInput, limit: number): { tokens: number[]; dropped: number } {
    const model = this.model;
    switch (input.kind) {
      case 'tokens':
        model.checkTokens(input.tokens);
        return { tokens: [...input.tokens], dropped: 0 };
      case 'text':
        return { tokens: model.tokenizer.encode(input.text, input.addBos === undefined ? {} : { addBos: input.addBos }), dropped: 0 };
      case 'chat': {
        const template = selectChatTemplate(model.chatTemplate, input.template);
        const messages = [...input.messages];
        const keep = messages[0]?.role === 'system' ? 1 : 0;
        let dropped = 0;
        for (;;) {
          const { tokens } = chatPromptTokens(template, messages, model.tokenizer, {
            addGenerationPrompt: true,
            ...(input.tools === undefined ? {} : { tools: input.tools }),
          });
          // Keep at least the newest message; drop whole turns (a user message and what followed it).
          if (tokens.length <= limit || messages.length - keep <= 1) return { tokens, dropped };
          if (input.overflow === 'error') {
            throw new EngineError('CONTEXT_FULL', 'messages', `the conversation is ${tokens.length} tokens; with room for the answer the context window allows ${limit}`);
          }
          let end = keep + 1;
          while (end < messages.length - 1 && messages[end]!.role !== 'user') end++;
          dropped += end - keep;
          messages.splice(keep, end - keep);
        }
      }
    }
  }

  /**
   * Reuses the longest cached prefix of the prompt, evaluates the rest in passes of `prefillChunk` tokens,
   * then samples token by token until an end-of-generation token, a stop string, `maxTokens`, the end of the
   * context window or an abort. Text goes out as `chunk` events that never split a UTF-8 character or show
   * the start of a stop string that may still complete.
   */
  private async generate(id: number, entry: SessionEntry, input: GenerateInput, options: WorkerGenerateOptions): Promise<WorkerGenerateResult> {
    const { session } = entry;
    const model = this.model;
    const tokenizer = model.tokenizer;
    // A chat keeps room for the answer (at most half the window); other prompts only need to fit.
    const limit = input.kind === 'chat' ? session.contextSize - Math.min(options.maxTokens, session.contextSize >> 1) : session.contextSize;
    const { tokens: prompt, dropped } = this.promptTokens(input, limit);
    if (prompt.length === 0) throw new InvalidInputError('EMPTY_INPUT', 'prompt', 'the prompt encodes to zero tokens (empty prompt and no BOS)');
    if (prompt.length > session.contextSize) {
      throw new EngineError('PROMPT_TOO_LONG', 'prompt', `the prompt is ${prompt.length} tokens; the context window holds ${session.contextSize}`);
    }
    const sampler = new Sampler(samplingOnly(options));
    const started = performance.now();
    // Reuse the cached prefix, but evaluate at least the last prompt token: its logits start generation.
    const cached = Math.min(commonPrefix(entry.tokens, prompt), prompt.length - 1);
    session.truncate(cached);
    entry.tokens.length = cached;
    let logits: Float32Array = new Float32Array(0);
    let finishReason: FinishReason | undefined;
    for (let start = cached; start < prompt.length; start += options.prefillChunk) {
      const pass = prompt.slice(start, Math.min(prompt.length, start + options.prefillChunk));
      logits = session.evaluate(pass);
      entry.tokens.push(...pass);
      await yieldToEventLoop();
      if (this.aborted.has(id)) {
        finishReason = 'abort';
        break;
      }
    }
    const promptDone = performance.now();
    const stream = new GenerationTextStream(tokenizer, { stop: options.stop });
    const tokens: number[] = [];
    let text = '';
    let stop: string | undefined;
    const emit = (piece: string, chunkTokens: readonly number[]): void => {
      if (piece.length === 0 && chunkTokens.length === 0) return;
      text += piece;
      this.post({ type: 'chunk', id, text: piece, tokens: chunkTokens });
    };
    // Penalties look at what came before: the prompt counts as recent history, as in llama.cpp.
    for (const token of prompt) sampler.accept(token);
    while (finishReason === undefined) {
      if (tokens.length >= options.maxTokens) {
        finishReason = 'length';
        break;
      }
      const token = sampler.sample(logits);
      sampler.accept(token);
      if (tokenizer.isEndOfGeneration(token)) {
        finishReason = 'eos';
        break;
      }
      tokens.push(token);
      const piece = stream.push(token);
      emit(piece.text, [token]);
      if (piece.stopped) {
        finishReason = 'stop';
        stop = piece.stop;
        break;
      }
      // The window is full: the last token is returned but cannot be evaluated.
      if (session.position >= session.contextSize || tokens.length >= options.maxTokens) {
        finishReason = 'length';
        break;
      }
      logits = session.evaluate([token]);
      entry.tokens.push(token);
      await yieldToEventLoop();
      if (this.aborted.has(id)) finishReason = 'abort';
    }
    const rest = stream.flush();
    emit(rest.text, []);
    if (rest.stopped && finishReason !== 'stop' && rest.stop !== undefined) {
      finishReason = 'stop';
      stop = rest.stop;
    }
    const done = performance.now();
    const generateMs = done - promptDone;
    return {
      text,
      tokens,
      finishReason,
      ...(stop === undefined ? {} : { stop }),
      droppedMessages: dropped,
      timings: {
        promptTokens: prompt.length,
        cachedTokens: cached,
        promptEvaluated: prompt.length - cached,
        promptMs: promptDone - started,
        generatedTokens: tokens.length,
        generateMs,
        tokensPerSecond: tokens.length > 0 && generateMs > 0 ? (tokens.length / generateMs) * 1000 : 0,
      },
    };
  }
}

function samplingOnly(options: WorkerGenerateOptions): Omit<WorkerGenerateOptions, 'maxTokens' | 'stop' | 'prefillChunk'> {
  const { maxTokens: _maxTokens, stop: _stop, prefillChunk: _prefillChunk, ...sampling } = options;
  return sampling;
}

function pieceOf(model: Model, id: number | undefined): string {
  return id === undefined ? '' : model.tokenizer.tokenToPiece(id);
}

/**
 * The order requests run in, the same on every transport: one at a time in arrival order, except `abort`
 * (handled at once, so a running generation sees it at its next token) and generations, which run side by
 * side: each yields after every token, so sessions interleave token by token instead of waiting for each other.
 */
export function requestScheduler(service: InferenceService): (request: WorkerRequest) => void {
  let queue: Promise<void> = Promise.resolve();
  return (request) => {
    if (request.type === 'abort' || request.type === 'session.generate') {
      void service.handle(request);
      return;
    }
    queue = queue.then(() => service.handle(request));
  };
}
