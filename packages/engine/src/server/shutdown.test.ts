/**
 * Shutdown: `close()` stops accepting, lets a running stream finish within the grace period or aborts it
 * (an error event, then [DONE]) when the period ends; `serve-main.ts` (the `serve` command on its own)
 * does the same on SIGTERM and exits 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { longWindowPrompt, noEos, startLongWindowServer, startTestServer, storiesGguf, until } from './test-support.js';

/** A completion to the end of the window (stories260K's 128 tokens; the long-window model's 4096). */
const storiesStream = JSON.stringify({ prompt: 'Once upon a time', max_tokens: 10_000, temperature: 0, stream: true });
const longWindowStream = JSON.stringify({ prompt: longWindowPrompt, max_tokens: 10_000, temperature: 0, logit_bias: noEos, stream: true });

/** Starts a streaming completion and returns its reader once the first chunk arrived. */
async function startStream(url: string, body = storiesStream): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; rest: () => Promise<string> }> {
  const response = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = decoder.decode((await reader.read()).value);
  const rest = async (): Promise<string> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
    }
  };
  return { reader, rest };
}

const events = (text: string): unknown[] =>
  text
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => (b === 'data: [DONE]' ? '[DONE]' : JSON.parse(b.slice(6))));

describe('close()', () => {
  it('lets a running stream finish within the grace period, refuses new connections', async () => {
    const server = await startTestServer();
    const stream = await startStream(server.url);
    const closed = server.close({ gracePeriodMs: 30_000 });
    const all = events(await stream.rest());
    await closed;
    expect(all.at(-1)).toBe('[DONE]');
    expect((all.at(-2) as { choices: Array<{ finish_reason: string }> }).choices[0]!.finish_reason).toBe('length');
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    await server.cleanup();
  }, 30_000);

  it('aborts a stream still running when the grace period ends (error event, then [DONE])', async () => {
    // The long window: stories260K's stream could end before close() is called.
    const server = await startLongWindowServer();
    const stream = await startStream(server.url, longWindowStream);
    const closed = server.close({ gracePeriodMs: 0 });
    const all = events(await stream.rest());
    await closed;
    expect(all.at(-1)).toBe('[DONE]');
    expect(all.at(-2)).toMatchObject({ error: { type: 'unavailable_error', code: 'server_shutting_down' } });
    await server.cleanup();
  }, 30_000);
});

describe('serve-main.ts under SIGTERM', () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'smallmind-serve-'));
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));
  const script = fileURLToPath(new URL('./serve-main.ts', import.meta.url));
  const packageDir = fileURLToPath(new URL('../../', import.meta.url));

  it('finishes the running stream, exits 0', async () => {
    // tsx as a loader (`--import tsx`, this package's tsconfig from the cwd), not its CLI: the CLI relays
    // SIGTERM to a child process and SIGKILLs it when the child does not acknowledge within 30 ms.
    const child = spawn(process.execPath, ['--import', 'tsx', script, 'serve', storiesGguf, '--port', '0', '--log-level', 'silent', '--threads', '1', '--cache-dir', cacheDir, '--grace', '20000'], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n')[0];
          if (out.includes('\n') && line !== undefined) resolve(line.trim());
        });
        child.on('exit', () => reject(new Error(`exited before listening: ${stderr}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await until(async () => (await fetch(`${url}/health`)).status === 200, 20_000, 'the model to load');
      const stream = await startStream(url);
      child.kill('SIGTERM');
      const all = events(await stream.rest());
      expect(all.at(-1)).toBe('[DONE]');
      expect((all.at(-2) as { choices: Array<{ finish_reason: string }> }).choices[0]!.finish_reason).toBe('length');
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
