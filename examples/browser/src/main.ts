// The example page: pick a model (URL or local file), type a prompt, watch the text stream in with tokens/s.
// With `?model=...` in the URL it runs once by itself and writes a JSON summary into #result (url-contract.ts).
import { EngineError, SmallMindEngine, type BrowserEngineOptions, type BrowserModelInfo } from '@smallmind/engine/browser';
import { parseContract, type AutoRun, type RunSummary } from './url-contract.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as T;
};

const output = $<HTMLDivElement>('output');
const stats = $<HTMLParagraphElement>('stats');
const resultBox = $<HTMLDivElement>('result');
const runtimeLine = $<HTMLParagraphElement>('runtime');
const loadStatus = $<HTMLSpanElement>('load-status');
const generateButton = $<HTMLButtonElement>('generate');
const stopButton = $<HTMLButtonElement>('stop');

/** The engine's inference worker is bundled next to this file (scripts/build.mjs). */
function createEngine(options: Pick<BrowserEngineOptions, 'threads' | 'cache'>): SmallMindEngine {
  return new SmallMindEngine({
    ...options,
    logLevel: 'warn',
    createWorker: () => new Worker(new URL('./smallmind-worker.js', import.meta.url), { type: 'module' }),
  });
}

function showRuntime(engine: SmallMindEngine): void {
  const r = engine.runtime;
  runtimeLine.textContent = `${r.backend}, ${r.threads} thread(s), ${r.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated (one thread; serve with COOP/COEP for more)'}, cache ${r.cache}`;
}

async function load(engine: SmallMindEngine, source: string | Blob): Promise<{ info: BrowserModelInfo; loadMs: number }> {
  const t0 = performance.now();
  const info = await engine.loadModel({
    source,
    onProgress: ({ phase, loaded, total }) => {
      const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
      loadStatus.textContent = `${phase} ${mib(loaded)}${total === undefined ? '' : ` / ${mib(total)}`} MiB`;
    },
  });
  const loadMs = performance.now() - t0;
  loadStatus.textContent = `${info.architecture}, ${info.fromCache ? 'from the cache' : info.imported ? 'imported' : 'loaded'} in ${(loadMs / 1000).toFixed(2)} s${info.chatTemplate === undefined ? '' : ', has a chat template'}`;
  showRuntime(engine);
  return { info, loadMs };
}

interface Generated {
  readonly text: string;
  readonly tokens: number[];
  readonly tokensPerSecond: number;
  readonly finishReason: string;
  readonly chatTemplateApplied: boolean;
}

/** Streams one generation into #output; the chat template is applied when asked and the model has one. */
async function generate(
  engine: SmallMindEngine,
  info: BrowserModelInfo,
  options: { prompt: string; maxTokens: number; temperature: number; chat: boolean; signal?: AbortSignal },
): Promise<Generated> {
  const chatTemplateApplied = options.chat && info.chatTemplate !== undefined;
  const prompt = chatTemplateApplied ? await engine.renderChat([{ role: 'user', content: options.prompt }], { addGenerationPrompt: true }) : options.prompt;
  output.textContent = '';
  const session = await engine.createSession();
  try {
    const run = session.stream(prompt, {
      maxTokens: options.maxTokens,
      temperature: options.temperature,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const tokens: number[] = [];
    const t0 = performance.now();
    for await (const chunk of run) {
      output.textContent += chunk.text;
      tokens.push(...chunk.tokens);
      stats.textContent = `${tokens.length} tokens, ${((tokens.length / (performance.now() - t0)) * 1000).toFixed(1)} tokens/s`;
    }
    const result = await run.result;
    output.textContent = result.text;
    const t = result.timings;
    stats.textContent = `${t.generatedTokens} tokens at ${t.tokensPerSecond.toFixed(1)} tokens/s; prompt ${t.promptTokens} tokens in ${t.promptMs.toFixed(0)} ms; finished: ${result.finishReason}`;
    return { text: result.text, tokens: [...result.tokens], tokensPerSecond: t.tokensPerSecond, finishReason: result.finishReason, chatTemplateApplied };
  } finally {
    await session.dispose();
  }
}

function describe(error: unknown): { error: string; code?: string } {
  if (error instanceof EngineError) return { error: error.message, code: error.code };
  return { error: error instanceof Error ? error.message : String(error) };
}

/** The URL contract: one run, then the summary in #result (also for failures, so a test never waits in vain). */
async function autoRun(run: AutoRun): Promise<void> {
  let summary: RunSummary;
  const engine = createEngine({ ...(run.threads === undefined ? {} : { threads: run.threads }), ...(run.cache === undefined ? {} : { cache: run.cache }) });
  try {
    const { info, loadMs } = await load(engine, new URL(run.model, location.href).href);
    const g = await generate(engine, info, { prompt: run.prompt, maxTokens: run.maxTokens, temperature: run.temperature, chat: run.chat });
    const r = engine.runtime;
    summary = {
      ok: true,
      text: g.text,
      tokens: g.tokens,
      threads: r.threads,
      backend: r.backend,
      crossOriginIsolated: r.crossOriginIsolated,
      tokensPerSecond: g.tokensPerSecond,
      finishReason: g.finishReason,
      fromCache: info.fromCache,
      loadMs,
      chatTemplateApplied: g.chatTemplateApplied,
    };
  } catch (error) {
    summary = { ok: false, ...describe(error) };
    output.textContent = `error: ${summary.error}`;
  } finally {
    await engine.dispose().catch(() => {});
  }
  resultBox.textContent = JSON.stringify(summary);
}

/** The interactive page. */
function interactive(): void {
  const engine = createEngine({});
  showRuntime(engine);
  let info: BrowserModelInfo | undefined;
  let controller: AbortController | undefined;
  $<HTMLButtonElement>('load').addEventListener('click', () => {
    const file = $<HTMLInputElement>('model-file').files?.[0];
    const url = $<HTMLInputElement>('model-url').value.trim();
    if (file === undefined && url === '') {
      loadStatus.textContent = 'give a URL or choose a file';
      return;
    }
    generateButton.disabled = true;
    load(engine, file ?? new URL(url, location.href).href).then(
      (loaded) => {
        info = loaded.info;
        generateButton.disabled = false;
      },
      (error: unknown) => {
        loadStatus.textContent = `failed: ${describe(error).error}`;
      },
    );
  });
  $<HTMLFormElement>('form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (info === undefined) return;
    controller = new AbortController();
    generateButton.disabled = true;
    stopButton.disabled = false;
    generate(engine, info, {
      prompt: $<HTMLTextAreaElement>('prompt').value,
      maxTokens: Math.max(1, Number($<HTMLInputElement>('n').value) || 64),
      temperature: Math.max(0, Number($<HTMLInputElement>('temperature').value) || 0),
      chat: $<HTMLInputElement>('chat').checked,
      signal: controller.signal,
    })
      .catch((error: unknown) => {
        stats.textContent = `failed: ${describe(error).error}`;
      })
      .finally(() => {
        generateButton.disabled = false;
        stopButton.disabled = true;
      });
  });
  stopButton.addEventListener('click', () => controller?.abort());
}

const contract = parseContract(location.search);
if (!contract.ok) {
  resultBox.textContent = JSON.stringify({ ok: false, error: contract.error } satisfies RunSummary);
} else if (contract.run !== undefined) {
  void autoRun(contract.run);
} else {
  interactive();
}
