// The example page in a real headless Chromium (Debian's, through playwright-core): llama.cpp's greedy tokens
// for stories260K in a cross-origin isolated and a plain origin, a bad model URL, and the OPFS cache.
// Chromium missing is a failure, not a skip (CI installs it: .ci/run).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturesDir, runContract, startHarness, type Harness } from './harness.js';

interface RefPrompt {
  readonly prompt: string;
  readonly greedy_tokens: number[];
}

// llama.cpp's reference (../shared/fixtures/README.md §5, vendored in fixtures/stories260K): greedy argmax, 32 tokens.
const reference = JSON.parse(readFileSync(join(fixturesDir, 'stories260K', 'stories260K-F32.ref.json'), 'utf8')) as { prompts: RefPrompt[] };
const MODEL = '/models/stories260K/stories260K-F32.gguf';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.close();
});

describe.each([
  { origin: 'cross-origin isolated', isolated: true, threads: '2' },
  { origin: 'not isolated', isolated: false, threads: '1' },
])('stories260K greedy tokens, $origin', ({ isolated, threads }) => {
  it.each(reference.prompts.map((p, i) => ({ ...p, i })))("prompt $i equals llama.cpp's greedy tokens", async ({ prompt, greedy_tokens }) => {
    const context = await harness.browser.newContext();
    try {
      const run = await runContract(context, isolated ? harness.isolatedUrl : harness.plainUrl, {
        model: MODEL,
        prompt,
        n: String(greedy_tokens.length),
        temperature: '0',
        threads,
        cache: 'none',
      });
      expect(run.consoleErrors).toEqual([]);
      expect(run.summary.ok, JSON.stringify(run.summary)).toBe(true);
      if (!run.summary.ok) return;
      expect(run.summary.tokens).toEqual(greedy_tokens);
      expect(run.summary.crossOriginIsolated).toBe(isolated);
      // Isolated: the kernels' Web Worker threads (threads=2 asked); not isolated: no SharedArrayBuffer, one thread.
      expect(run.summary.threads).toBe(isolated ? 2 : 1);
      expect(['relaxed-simd', 'simd128']).toContain(run.summary.backend);
      expect(run.summary.tokensPerSecond).toBeGreaterThan(0);
      expect(run.output).toBe(run.summary.text);
      console.log(`${isolated ? 'isolated' : 'plain'}: ${run.summary.backend}, ${run.summary.threads} thread(s), ${run.summary.tokensPerSecond.toFixed(0)} tokens/s`);
    } finally {
      await context.close();
    }
  });
});

describe('failures', () => {
  it('a model URL that answers 404 gives ok:false naming the status, within seconds', async () => {
    const context = await harness.browser.newContext();
    try {
      const run = await runContract(context, harness.plainUrl, { model: '/models/no-such-model.gguf', prompt: 'x', n: '4', temperature: '0' }, 15_000);
      expect(run.summary.ok).toBe(false);
      if (run.summary.ok) return;
      expect(run.summary.error).toContain('404');
      expect(run.summary.error).toContain('no-such-model.gguf');
      expect(run.summary.code).toBe('MODEL_FETCH_FAILED');
      expect(run.elapsedMs).toBeLessThan(10_000);
    } finally {
      await context.close();
    }
  });

  it('a bad URL parameter gives ok:false naming it', async () => {
    const context = await harness.browser.newContext();
    try {
      const run = await runContract(context, harness.plainUrl, { model: MODEL, n: 'many' }, 15_000);
      expect(run.summary).toEqual({ ok: false, error: 'n must be an integer >= 1, got "many"' });
    } finally {
      await context.close();
    }
  });
});

describe('OPFS cache', () => {
  it('a second load of the same model comes from the cache (no download, no re-import); both load times are printed', async () => {
    const context = await harness.browser.newContext();
    try {
      const query = { model: MODEL, prompt: 'Once upon a time', n: '8', temperature: '0', cache: 'opfs' };
      const first = await runContract(context, harness.isolatedUrl, query);
      const second = await runContract(context, harness.isolatedUrl, query);
      expect(first.summary.ok && second.summary.ok, JSON.stringify([first.summary, second.summary])).toBe(true);
      if (!first.summary.ok || !second.summary.ok) return;
      expect(first.summary.fromCache).toBe(false);
      expect(second.summary.fromCache).toBe(true);
      expect(second.summary.tokens).toEqual(first.summary.tokens);
      expect(second.summary.tokens).toEqual(reference.prompts[0]!.greedy_tokens.slice(0, 8));
      console.log(`OPFS: first load (download + import) ${first.summary.loadMs.toFixed(0)} ms, second (cache) ${second.summary.loadMs.toFixed(0)} ms`);
    } finally {
      await context.close();
    }
  });
});
