/** Test helpers of the server suites (not exported by the package). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeLongWindowLlama } from '../test-models.js';
import { startServer, type RunningServer, type StartServerOptions } from './server.js';

const fixtures = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
export const storiesGguf = join(fixtures, 'stories260K/stories260K-F32.gguf');
/** llama.cpp's greedy continuations of the vendored model. */
export const storiesReference = JSON.parse(readFileSync(join(fixtures, 'stories260K/stories260K-F32.ref.json'), 'utf8')) as {
  eos_token_id: number;
  prompts: Array<{ prompt: string; tokens: number[]; greedy_tokens: number[]; greedy_text: string }>;
};
export const storiesModel = 'stories260K-F32';

/** A server for stories260K on a free loopback port, quiet, one kernel thread, its own cache directory. */
export async function startTestServer(options: Partial<StartServerOptions> = {}): Promise<RunningServer & { cleanup(): Promise<void> }> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'smallmind-server-'));
  const server = await startServer({ models: [storiesGguf], port: 0, host: '127.0.0.1', logLevel: 'silent', threads: 1, cacheDir, ...options });
  await server.ready;
  return {
    ...server,
    cleanup: async () => {
      await server.close({ gracePeriodMs: 0 });
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

/**
 * stories260K's whole window (128 tokens) is generated in a few milliseconds, sooner than a disconnect or a
 * shutdown is noticed. This random-weight llama has a `longWindow`-token window, and with `noEos` as the
 * request's logit_bias a greedy generation runs to its end (about a second), so a test can interrupt it.
 */
export const longWindow = 4096;
export const noEos: Readonly<Record<string, number>> = { '2': -100 };
export const longWindowPrompt = 'w1 w2';

/** A server (as `startTestServer`) for the long-window model, written into its own directory. */
export async function startLongWindowServer(options: Partial<StartServerOptions> = {}): Promise<RunningServer & { cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'smallmind-long-window-'));
  const model = join(dir, 'long-window.gguf');
  await writeLongWindowLlama(model, longWindow);
  const server = await startTestServer({ models: [model], ctxSize: longWindow, ...options });
  return {
    ...server,
    cleanup: async () => {
      await server.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** POSTs JSON (or raw text) and returns the status, headers and parsed body. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, json };
}

/** Reads an SSE response's `data:` payloads until the stream ends (`[DONE]` kept as a string). */
export async function readSse(response: Response): Promise<Array<any>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => {
      const data = block.slice(6);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

/** Resolves once `predicate` holds (polling), or fails after `ms`. */
export async function until(predicate: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
