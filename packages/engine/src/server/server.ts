/**
 * The OpenAI-compatible HTTP server (fastify): `/v1/models`, `/v1/chat/completions`, `/v1/completions`
 * (streaming as SSE or not), `/v1/embeddings` (embeddings.ts), llama-server's `/tokenize` and `/detokenize`, `/health` and `/metrics`. Each
 * configured model runs in its own engine (its own inference worker) with `parallel` slots; a request runs in
 * the slot whose KV cache shares the longest prefix with its prompt.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { basename, extname } from 'node:path';
import { PassThrough } from 'node:stream';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '@smallmind/runtime';
import { SmallMindEngine, type ModelInfo } from '../engine.js';
import type { GenerationOptions } from '../generation/index.js';
import type { GenerationResult } from '../session.js';
import type { GenerateInput } from '../worker/protocol.js';
import type { ToolCallStreamParser, ToolTurn } from '../chat/index.js';
import { registerEmbeddings } from './embeddings.js';
import { ApiError, toApiError } from './errors.js';
import { ServerMetrics } from './metrics.js';
import { chatMessages, generationOptions, ResponseShaper, type Endpoint } from './openai.js';
import { chatCompletionBody, completionBody, detokenizeBody, tokenizeBody, type ChatBody, type CompletionBody, type DetokenizeBody, type TokenizeBody } from './schemas.js';
import { SlotPool } from './slots.js';
import { planToolChat, sendToolDeltas, withToolGrammar } from './tools-chat.js';

export interface ServerModelOptions {
  /** A `.gguf` or `.smq` file. */
  readonly path: string;
  /** The name clients pass as `model` (default: the file name without its extension). */
  readonly name?: string;
}

export interface StartServerOptions {
  /** Models to serve: paths or `{ path, name }`. Only these are ever loaded; a request's `model` is only a name. */
  readonly models: ReadonlyArray<string | ServerModelOptions>;
  /** Default 8080; 0 picks a free port (see `address`). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** When set, every endpoint but /health needs `Authorization: Bearer <apiKey>` (or `x-api-key`). */
  readonly apiKey?: string;
  /** Slots (concurrent generations) per model (default 1). */
  readonly parallel?: number;
  /** Tokens of each slot's KV cache (default: the engine's, min(model's, 4096)). */
  readonly ctxSize?: number;
  /** Requests that may wait for a slot, per model, beyond which they get 429 (default 64). */
  readonly maxQueue?: number;
  /** Largest request body in bytes (default 1 MiB); larger ones get 413. */
  readonly bodyLimit?: number;
  /** max_tokens when a request gives none (default 512). */
  readonly defaultMaxTokens?: number;
  /** How long `close()` lets running generations finish before aborting them (default 10 000 ms). */
  readonly gracePeriodMs?: number;
  /** Request log level (pino); default `info`, `silent` for none. */
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Engine options shared by every model. */
  readonly threads?: number;
  readonly cacheDir?: string;
  readonly kernels?: 'wasm' | 'reference';
  /** Where the engines' load messages go (default: the request logger). */
  readonly engineLogger?: Logger;
  /** Called when every model is loaded (or one failed). */
  readonly onReady?: (error: Error | undefined) => void;
}

export interface RunningServer {
  /** The bound address: `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** Resolves when every model is loaded; rejects when one fails to load. */
  readonly ready: Promise<void>;
  readonly app: FastifyInstance;
  /**
   * Stops accepting requests (new ones get 503, queued ones 503), lets running generations finish for the
   * grace period, aborts what is still running, then stops the engines. Safe to call twice.
   */
  close(options?: { readonly gracePeriodMs?: number }): Promise<void>;
}

interface ServedModel {
  readonly name: string;
  readonly path: string;
  readonly engine: SmallMindEngine;
  pool: SlotPool | undefined;
  info: ModelInfo | undefined;
  state: 'loading' | 'ready' | 'failed';
  error: Error | undefined;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Tokens a generation request consumed (for the request log line). */
    tokens: { prompt: number; generated: number } | undefined;
  }
}

/** Most tokens `/tokenize` splits into pieces (`with_pieces`). */
const MAX_PIECES = 2048;

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw new ApiError(500, 'server_error', `${name} = ${String(value)} must be an integer >= ${min}`, name, 'invalid_option');
  return v;
}

function modelName(entry: string | ServerModelOptions): { name: string; path: string } {
  const path = typeof entry === 'string' ? entry : entry.path;
  const name = typeof entry === 'string' || entry.name === undefined ? basename(path, extname(path)) : entry.name;
  return { name, path };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Starts listening at once (/health says 503 until the models are loaded), then loads the models. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  if (options.models.length === 0) throw new ApiError(500, 'server_error', 'no model to serve', 'models', 'invalid_option');
  const parallel = positiveInteger('parallel', options.parallel, 1);
  const maxQueue = positiveInteger('maxQueue', options.maxQueue, 64, 0);
  const bodyLimit = positiveInteger('bodyLimit', options.bodyLimit, 1 << 20);
  const defaultMaxTokens = positiveInteger('defaultMaxTokens', options.defaultMaxTokens, 512, 0);
  const ctxSize = options.ctxSize === undefined ? undefined : positiveInteger('ctxSize', options.ctxSize, 1);
  const metrics = new ServerMetrics();
  const apiKeyHash = options.apiKey === undefined || options.apiKey === '' ? undefined : sha256(options.apiKey);

  const app = Fastify({
    logger: { level: options.logLevel ?? 'info' },
    // One line per request, written by the onResponse hook below (with the tokens).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // Types are checked, never coerced: "0.5" is not a temperature.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    return503OnClosing: true,
  });
  const engineLogger: Logger = options.engineLogger ?? {
    debug: (m) => app.log.debug(m),
    info: (m) => app.log.info(m),
    warn: (m) => app.log.warn(m),
    error: (m) => app.log.error(m),
  };

  const models = new Map<string, ServedModel>();
  for (const entry of options.models) {
    const { name, path } = modelName(entry);
    if (models.has(name)) throw new ApiError(500, 'server_error', `two models are named '${name}'; give them distinct names`, 'models', 'invalid_option');
    const engine = new SmallMindEngine({
      logger: engineLogger,
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
      ...(options.kernels === undefined ? {} : { kernels: options.kernels }),
    });
    models.set(name, { name, path, engine, pool: undefined, info: undefined, state: 'loading', error: undefined });
  }
  const defaultModel = models.values().next().value as ServedModel;

  // Running generations, aborted when the grace period of close() ends.
  const running = new Set<AbortController>();
  let closing: Promise<void> | undefined;

  app.decorateRequest('tokens', undefined);

  app.addHook('onRequest', async (request) => {
    if (apiKeyHash === undefined || request.url === '/health') return;
    const header = request.headers.authorization;
    const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : request.headers['x-api-key'];
    if (typeof given !== 'string' || !timingSafeEqual(sha256(given), apiKeyHash)) {
      throw new ApiError(401, 'authentication_error', given === undefined ? 'missing API key (Authorization: Bearer <key>)' : 'invalid API key', null, 'invalid_api_key');
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    // While closing, a keep-alive connection whose last response just ended would hold close() up until the
    // grace period: drop it as soon as it is idle.
    if (closing !== undefined) setImmediate(() => app.server.closeIdleConnections());
    const route = request.routeOptions.url ?? 'unknown';
    const ms = reply.elapsedTime;
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.requestSeconds.observe({ route }, ms / 1000);
    const tokens = request.tokens;
    request.log.info(
      { method: request.method, path: request.url, status: reply.statusCode, ...(tokens === undefined ? {} : { promptTokens: tokens.prompt, generatedTokens: tokens.generated }), ms: Math.round(ms) },
      `${request.method} ${request.url} ${reply.statusCode}${tokens === undefined ? '' : ` ${tokens.prompt}+${tokens.generated} tokens`} ${Math.round(ms)} ms`,
    );
  });

  app.setErrorHandler(async (error, _request, reply) => {
    let api: ApiError;
    const e = error as Error & { statusCode?: number; code?: string; validation?: Array<{ instancePath: string; params: Record<string, unknown>; message?: string }> };
    if (e.validation !== undefined) {
      const first = e.validation[0];
      const missing = first?.params.missingProperty;
      // The JSON pointer `/messages/0/role` as `messages[0].role`, as the engine names fields.
      const path = `${first?.instancePath ?? ''}${typeof missing === 'string' ? `/${missing}` : ''}`
        .split('/')
        .filter((part) => part !== '')
        .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
        .join('');
      const where = path === '' ? 'the body' : path;
      api = new ApiError(400, 'invalid_request_error', `invalid request: ${where} ${first?.message ?? 'is invalid'}`, path === '' ? null : path, 'invalid_value');
    } else if (!(error instanceof ApiError) && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      // fastify's own: malformed JSON (400), body too large (413), unsupported media type (415), ...
      api = new ApiError(e.statusCode, 'invalid_request_error', e.message, null, (e.code ?? 'bad_request').toLowerCase());
    } else {
      api = toApiError(error);
    }
    if (api.status >= 500) reply.log.error({ err: error }, api.message);
    return reply.status(api.status).headers(api.headers).send(api.toBody());
  });

  app.setNotFoundHandler(async (request, reply) => {
    const api = new ApiError(404, 'not_found_error', `no route ${request.method} ${request.url}`, null, 'not_found');
    return reply.status(404).send(api.toBody());
  });

  /** The model a request names (the first one when it names none), ready to serve. */
  const served = (name: string | undefined): ServedModel & { pool: SlotPool; info: ModelInfo } => {
    const model = name === undefined || name === '' ? defaultModel : models.get(name);
    if (model === undefined) throw new ApiError(404, 'not_found_error', `the model '${name ?? ''}' does not exist (serving: ${[...models.keys()].join(', ')})`, 'model', 'model_not_found');
    if (closing !== undefined) throw new ApiError(503, 'unavailable_error', 'the server is shutting down', null, 'server_shutting_down');
    if (model.state !== 'ready' || model.pool === undefined || model.info === undefined) {
      const failed = model.state === 'failed';
      throw new ApiError(503, 'unavailable_error', failed ? `the model '${model.name}' failed to load: ${model.error?.message ?? ''}` : `the model '${model.name}' is loading`, 'model', failed ? 'model_load_failed' : 'model_loading');
    }
    return model as ServedModel & { pool: SlotPool; info: ModelInfo };
  };

  app.get('/health', async (_request, reply) => {
    const states = [...models.values()];
    if (closing !== undefined) return reply.status(503).send({ status: 'shutting_down' });
    const failed = states.find((m) => m.state === 'failed');
    if (failed !== undefined) return reply.status(503).send({ status: 'error', error: new ApiError(503, 'unavailable_error', `the model '${failed.name}' failed to load: ${failed.error?.message ?? ''}`, 'model', 'model_load_failed').toBody().error });
    if (states.some((m) => m.state === 'loading')) return reply.status(503).send({ status: 'loading' });
    const slots = states.map((m) => ({ model: m.name, slots: m.pool?.slots.length ?? 0, busy: m.pool?.busy ?? 0, queued: m.pool?.queued ?? 0 }));
    return reply.send({ status: 'ok', models: slots });
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: [...models.values()].map((m) => ({
      id: m.name,
      object: 'model',
      created: 0,
      owned_by: 'smallmind',
      meta: m.info === undefined ? { state: m.state } : { state: m.state, architecture: m.info.architecture, n_ctx: ctxSize ?? m.info.contextLength, n_ctx_train: m.info.trainedContextLength, n_vocab: m.info.vocabSize },
    })),
  }));

  app.post<{ Body: TokenizeBody }>('/tokenize', { schema: { body: tokenizeBody } }, async (request) => {
    const model = served(request.body.model);
    const tokens = await model.engine.tokenize(request.body.content, {
      // llama-server: no BOS unless asked for.
      addBos: request.body.add_special ?? false,
      parseSpecial: request.body.parse_special ?? true,
    });
    if (request.body.with_pieces !== true) return { tokens };
    // Each piece is what its token adds to the decoded text so far (a lone token would lose a SentencePiece
    // leading space), so the pieces join to the decoded text. Quadratic, hence bounded.
    if (tokens.length > MAX_PIECES) {
      throw new ApiError(400, 'invalid_request_error', `with_pieces: the content is ${tokens.length} tokens; at most ${MAX_PIECES} are split into pieces`, 'with_pieces', 'too_many_tokens');
    }
    const prefixes = await Promise.all(tokens.map((_, i) => model.engine.detokenize(tokens.slice(0, i + 1))));
    return { tokens: tokens.map((id, i) => ({ id, piece: prefixes[i]!.slice(i === 0 ? 0 : prefixes[i - 1]!.length) })) };
  });

  app.post<{ Body: DetokenizeBody }>('/detokenize', { schema: { body: detokenizeBody } }, async (request) => {
    const model = served(request.body.model);
    return { content: await model.engine.detokenize(request.body.tokens) };
  });

  registerEmbeddings(app, served);

  /**
   * Runs one generation in the best slot: `onStart` is called once the first text (or the result) is known,
   * so errors before that become a proper HTTP status, and `onText` for each piece after.
   */
  const generate = async (
    request: FastifyRequest,
    reply: FastifyReply,
    model: ServedModel & { pool: SlotPool; info: ModelInfo },
    prompt: { readonly input: GenerateInput; readonly key: string },
    generation: GenerationOptions,
    stream: { onStart(): void; onText(text: string): void } | undefined,
  ): Promise<GenerationResult> => {
    const controller = new AbortController();
    // A client that goes away aborts its generation (and leaves the queue); its slot is freed below.
    const onClose = (): void => {
      if (!reply.raw.writableFinished) controller.abort(new ApiError(499, 'invalid_request_error', 'the client closed the connection', null, 'client_closed'));
    };
    reply.raw.on('close', onClose);
    running.add(controller);
    const pool = model.pool;
    try {
      const slot = await pool.acquire(prompt.key, controller.signal).catch((error: unknown) => {
        if (error instanceof Error && (error as { code?: unknown }).code === 'QUEUE_FULL') metrics.rejected.inc({ model: model.name });
        throw error;
      });
      let cachedText = '';
      try {
        const session = await pool.session(slot);
        const run = session.run(prompt.input, { ...generation, signal: controller.signal });
        let started = false;
        for await (const chunk of run) {
          if (stream === undefined || chunk.text.length === 0) continue;
          if (!started) {
            started = true;
            stream.onStart();
          }
          stream.onText(chunk.text);
        }
        const result = await run.result;
        if (stream !== undefined && !started) stream.onStart();
        // The slot's cache now holds the prompt and the answer (a token-id prompt is only its own key).
        cachedText = prompt.input.kind === 'tokens' ? prompt.key : prompt.key + result.text;
        const t = result.timings;
        request.tokens = { prompt: t.promptTokens, generated: t.generatedTokens };
        metrics.promptTokens.inc({ model: model.name }, t.promptTokens);
        metrics.cachedTokens.inc({ model: model.name }, t.cachedTokens);
        metrics.generatedTokens.inc({ model: model.name }, t.generatedTokens);
        metrics.promptSeconds.observe({ model: model.name }, t.promptMs / 1000);
        metrics.generateSeconds.observe({ model: model.name }, t.generateMs / 1000);
        if (result.finishReason === 'abort' && controller.signal.reason instanceof ApiError) throw controller.signal.reason;
        return result;
      } finally {
        pool.release(slot, cachedText);
      }
    } finally {
      running.delete(controller);
      reply.raw.off('close', onClose);
    }
  };

  /** Answers a generation request as JSON or as an SSE stream. */
  const answer = async (
    request: FastifyRequest,
    reply: FastifyReply,
    endpoint: Endpoint,
    model: ServedModel & { pool: SlotPool; info: ModelInfo },
    prompt: { readonly input: GenerateInput; readonly key: string },
    generation: GenerationOptions,
    body: { readonly stream?: boolean | null; readonly stream_options?: { readonly include_usage?: boolean } | null },
    /** A chat that involves tools: its reply is read into `tool_calls`. */
    turn?: ToolTurn,
  ): Promise<unknown> => {
    const shaper = new ResponseShaper(endpoint, model.name);
    if (body.stream !== true) {
      const result = await generate(request, reply, model, prompt, generation, undefined);
      if (turn === undefined) return shaper.complete(result.text, result.finishReason, result.timings);
      const parsed = turn.parse(result.text);
      return shaper.complete(parsed.content, result.finishReason, result.timings, parsed.toolCalls);
    }
    const tools: ToolCallStreamParser | undefined = turn?.parser();
    const sse = new PassThrough();
    const send = (data: unknown): void => {
      sse.write(`data: ${JSON.stringify(data)}\n\n`);
    };
    let first = true;
    let headersSent = false;
    const start = (): void => {
      headersSent = true;
      void reply
        .status(200)
        .headers({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
        .send(sse);
    };
    try {
      const result = await generate(request, reply, model, prompt, generation, {
        onStart: start,
        onText: (text) => {
          if (tools !== undefined) {
            first = sendToolDeltas(tools.push(text), shaper, send, first);
            return;
          }
          send(shaper.delta(text, first));
          first = false;
        },
      });
      if (tools !== undefined) first = sendToolDeltas(tools.finish(), shaper, send, first);
      if (first && endpoint === 'chat') send(shaper.delta('', true));
      send(shaper.finish(result.finishReason, result.timings, (tools?.result().toolCalls.length ?? 0) > 0));
      if (body.stream_options?.include_usage === true) send(shaper.usage(result.timings));
      sse.end('data: [DONE]\n\n');
    } catch (error) {
      // Before the first byte: a normal error response. After: an error event, then the end of the stream.
      if (!headersSent) throw error;
      send(toApiError(error).toBody());
      sse.end('data: [DONE]\n\n');
    }
    return reply;
  };

  app.post<{ Body: ChatBody }>('/v1/chat/completions', { schema: { body: chatCompletionBody } }, async (request, reply) => {
    const body = request.body;
    const model = served(body.model);
    const generation = generationOptions(body, model.info.vocabSize, { maxTokens: defaultMaxTokens });
    const joined = chatMessages(body);
    const tools = await planToolChat(body, joined, model.engine, model.info);
    const messages = tools?.messages ?? joined;
    // The rendered prompt is the slot key; rendering here also reports a template error as a 400 up front.
    const key = await model.engine.renderChat(messages, tools?.tools === undefined ? {} : { tools: tools.tools });
    const input: GenerateInput = { kind: 'chat', messages, overflow: 'error', ...(tools?.tools === undefined ? {} : { tools: tools.tools }) };
    try {
      return await answer(request, reply, 'chat', model, { input, key }, withToolGrammar(generation, tools), body, tools);
    } catch (error) {
      // The engine calls a chat's rendered prompt `prompt`; the client sent `messages`.
      const api = toApiError(error);
      throw api.param === 'prompt' ? new ApiError(api.status, api.type, api.message, 'messages', api.code, api.headers) : api;
    }
  });

  app.post<{ Body: CompletionBody }>('/v1/completions', { schema: { body: completionBody } }, async (request, reply) => {
    const body = request.body;
    const model = served(body.model);
    const generation = generationOptions(body, model.info.vocabSize, { maxTokens: defaultMaxTokens });
    const raw = body.prompt;
    let prompt: { input: GenerateInput; key: string };
    if (typeof raw === 'string' || typeof raw[0] === 'string') {
      const text = typeof raw === 'string' ? raw : (raw[0] as string);
      prompt = { input: { kind: 'text', text }, key: text };
    } else {
      const tokens = raw as readonly number[];
      const bad = tokens.findIndex((t) => t >= model.info.vocabSize);
      if (bad >= 0) throw new ApiError(400, 'invalid_request_error', `prompt[${bad}] = ${tokens[bad]} is not a token id (the vocabulary has ${model.info.vocabSize})`, `prompt[${bad}]`, 'token_out_of_range');
      prompt = { input: { kind: 'tokens', tokens }, key: `\u0000${tokens.join(',')}` };
    }
    return answer(request, reply, 'completion', model, prompt, generation, body);
  });

  await app.listen({ port: options.port ?? 8080, host: options.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 8080);
  const host = options.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const ready = (async () => {
    for (const model of models.values()) {
      try {
        model.info = await model.engine.loadModel({ path: model.path, ...(ctxSize === undefined ? {} : { contextLength: ctxSize }) });
        model.pool = new SlotPool(model.engine, {
          parallel,
          maxQueue,
          contextSize: ctxSize,
          onChange: (queued, busy) => {
            metrics.queueDepth.set({ model: model.name }, queued);
            metrics.slotsBusy.set({ model: model.name }, busy);
          },
        });
        model.state = 'ready';
        app.log.info(`model '${model.name}' ready (${model.info.architecture}, ${parallel} slot(s) of ${ctxSize ?? model.info.contextLength} tokens)`);
      } catch (error) {
        model.state = 'failed';
        model.error = error instanceof Error ? error : new Error(String(error));
        app.log.error(`model '${model.name}' failed to load: ${model.error.message}`);
        throw model.error;
      }
    }
  })();
  ready.then(
    () => options.onReady?.(undefined),
    (error: unknown) => options.onReady?.(error as Error),
  );

  const close = (closeOptions: { readonly gracePeriodMs?: number } = {}): Promise<void> => {
    closing ??= (async () => {
      const grace = closeOptions.gracePeriodMs ?? options.gracePeriodMs ?? 10_000;
      for (const model of models.values()) model.pool?.close();
      const timer = setTimeout(() => {
        for (const controller of running) controller.abort(new ApiError(503, 'unavailable_error', 'the server shut down before the generation finished', null, 'server_shutting_down'));
        // Anything still open a moment later (a client not reading its stream) is cut.
        setTimeout(() => app.server.closeAllConnections(), 1000).unref();
      }, grace);
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
        await ready.catch(() => {});
        await Promise.all([...models.values()].map((m) => m.engine.dispose()));
      }
    })();
    return closing;
  };

  return { url, port, ready, app, close };
}
