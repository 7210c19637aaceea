// Shared by the Chromium tests: the page built into dist/, served twice (cross-origin isolated and not) with
// the repository's fixtures under /models/, and a way to run the page's URL contract and read #result.
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext } from 'playwright-core';
import { buildPage } from '../scripts/build.mjs';
import { launchChromium } from '../scripts/chromium.mjs';
import { startStaticServer } from '../scripts/serve.mjs';
import type { RunSummary } from '../src/url-contract.js';

export const fixturesDir = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export interface Harness {
  readonly browser: Browser;
  readonly isolatedUrl: string;
  readonly plainUrl: string;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const root = await buildPage();
  const mounts = { '/models': fixturesDir };
  const isolated = await startStaticServer({ root, mounts, isolated: true });
  const plain = await startStaticServer({ root, mounts, isolated: false });
  const browser = await launchChromium();
  return {
    browser,
    isolatedUrl: isolated.url,
    plainUrl: plain.url,
    async close() {
      await browser.close();
      await isolated.close();
      await plain.close();
    },
  };
}

export interface PageRun {
  readonly summary: RunSummary;
  readonly output: string;
  readonly elapsedMs: number;
  readonly consoleErrors: string[];
}

/** Opens `index.html?<query>` in `context`, waits for #result (at most `timeoutMs`) and parses it. */
export async function runContract(context: BrowserContext, base: string, query: Record<string, string>, timeoutMs = 60_000): Promise<PageRun> {
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  try {
    const t0 = performance.now();
    await page.goto(`${base}index.html?${new URLSearchParams(query).toString()}`);
    await page.waitForFunction(() => (document.getElementById('result')?.textContent ?? '') !== '', undefined, { timeout: timeoutMs });
    const elapsedMs = performance.now() - t0;
    const text = (await page.textContent('#result')) ?? '';
    const output = (await page.textContent('#output')) ?? '';
    return { summary: JSON.parse(text) as RunSummary, output, elapsedMs, consoleErrors };
  } finally {
    await page.close();
  }
}
