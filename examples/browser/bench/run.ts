// Browser benchmark: SmallMind (`@smallmind/engine/browser`) vs @wllama/wllama 3.8.1 in ONE headless Chromium
// run, on the random-weight TinyLlama-1.1B-shaped GGUFs of packages/engine/bench (Q4_0, Q8_0, Q4_K_M), at 1
// and 2 threads, served cross-origin isolated so both can use threads; between the two, SmallMind's Node build
// on the same file and threads (engine `node`, in this process), for "as fast as Node". Per engine, model and
// thread count: load time (fetch of the GGUF to ready; Node: the SMQ load), prefill tokens/s (128-token
// prompt), decode tokens/s (16-token prompt, 64 greedy tokens). Prints markdown tables (results, then
// SmallMind / wllama and browser / Node ratios).
//
//   pnpm --filter ./examples/browser bench
//   BENCH_MIXES=Q4_0 BENCH_THREADS=1 BENCH_ENGINES=smallmind,node BENCH_REPEAT=1 ... to narrow
//
// Never part of the tests. wllama is installed on first use into bench/wllama/ (not a workspace package).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, statfsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
// The generator of the benchmark models is the engine benchmark's own, so both benchmarks measure the same files.
import { ensureModel, TINYLLAMA_SHAPE, type ModelMix } from '../../../packages/engine/bench/make-model.js';
import { workerEntry } from '../scripts/build.mjs';
import { launchChromium } from '../scripts/chromium.mjs';
import { startStaticServer } from '../scripts/serve.mjs';
import { runNodeBench } from './node-run.js';
import type { BenchRequest, BenchResult } from './shared.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const wllamaDir = join(here, 'wllama');
const wllamaPackage = join(wllamaDir, 'node_modules', '@wllama', 'wllama');
/** Page engines (smallmind: the browser build; wllama) and `node`: SmallMind's Node build, in this process. */
const ENGINES = ['smallmind', 'node', 'wllama'] as const;
type Engine = (typeof ENGINES)[number];

function ensureWllama(): void {
  if (existsSync(join(wllamaPackage, 'esm', 'wasm', 'wllama.wasm'))) return;
  console.error(`installing @wllama/wllama 3.8.1 into ${wllamaDir}`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: wllamaDir, stdio: 'inherit' });
}

/** Bundles the page runner of each engine into bench/dist/<engine>-run.js. */
async function bundle(engines: ReadonlyArray<Exclude<Engine, 'node'>>): Promise<void> {
  await build({
    entryPoints: [
      ...engines.map((engine) => ({ in: join(here, `${engine}-run.ts`), out: `${engine}-run` })),
      // The engine's inference worker, which smallmind-run.ts starts itself (as the example page does).
      ...(engines.includes('smallmind') ? [{ in: workerEntry(), out: 'smallmind-worker' }] : []),
    ],
    outdir: join(here, 'dist'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    splitting: true,
    sourcemap: true,
    logLevel: 'warning',
    // Bundle what a user gets: the packages' built browser exports, whatever a tsconfig says.
    tsconfigRaw: {},
    nodePaths: [join(wllamaDir, 'node_modules')],
  });
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

async function main(): Promise<void> {
  const mixes = (process.env.BENCH_MIXES?.split(',') ?? ['Q4_0', 'Q8_0', 'Q4_K_M']) as ModelMix[];
  const threadCounts = process.env.BENCH_THREADS?.split(',').map(Number) ?? [1, 2];
  const engines = (process.env.BENCH_ENGINES?.split(',') ?? [...ENGINES]) as Engine[];
  for (const engine of engines) if (!ENGINES.includes(engine)) throw new Error(`BENCH_ENGINES: unknown engine ${engine} (known: ${ENGINES.join(', ')})`);
  const repeat = Number(process.env.BENCH_REPEAT ?? 2);
  const debug = process.env.BENCH_DEBUG === '1';
  // SmallMind's OPFS first/second load, once per model (at the first thread count): load does not use the threads.
  const opfs = process.env.BENCH_OPFS !== '0';
  const cacheDir = join(tmpdir(), 'smallmind-bench');
  mkdirSync(cacheDir, { recursive: true });
  const free = statfsSync(cacheDir).bavail * statfsSync(cacheDir).bsize;
  if (free < 4 * 2 ** 30) throw new Error(`${cacheDir} has ${mib(free)} MiB free; the GGUFs of three mixes need about 2.5 GiB`);
  if (engines.includes('wllama')) ensureWllama();
  await bundle(engines.filter((engine) => engine !== 'node'));
  const server = await startStaticServer({
    root: here,
    mounts: { '/wllama': join(wllamaPackage, 'esm'), '/models': cacheDir },
    isolated: true,
  });
  const browser = await launchChromium();
  const loadAtStart = loadavg()[0]!;
  const results: Array<BenchResult & { fileBytes: number }> = [];
  const failures: string[] = [];
  try {
    for (const mix of mixes) {
      const gguf = await ensureModel(join(cacheDir, `tinyllama-shape-${mix}.gguf`), mix, (m) => console.error(m));
      const fileBytes = statSync(gguf).size;
      for (const threads of threadCounts) {
        for (const engine of engines) {
          const label = `${mix}, ${threads} thread(s): ${engine}`;
          console.error(label);
          const request: BenchRequest = {
            modelUrl: `${server.url}models/${encodeURIComponent(`tinyllama-shape-${mix}.gguf`)}`,
            mix,
            threads,
            prefillTokens: 128,
            decodePromptTokens: 16,
            decodeTokens: 64,
            repeat,
            vocab: TINYLLAMA_SHAPE.vocab,
            debug,
            opfs: opfs && engine === 'smallmind' && threads === threadCounts[0],
          };
          if (engine === 'node') {
            try {
              const result = await runNodeBench(request, gguf, cacheDir);
              console.error(`  ${JSON.stringify(result)}`);
              results.push({ ...result, fileBytes });
            } catch (error) {
              failures.push(`${label}: ${(error as Error).message}`);
              console.error(`  FAILED: ${(error as Error).message}`);
            }
            continue;
          }
          // A fresh page per measurement: each engine's memory is released before the next one loads.
          const page = await browser.newPage();
          page.on('console', (message) => {
            if (debug || message.type() === 'error' || message.type() === 'warning') console.error(`  [page ${(performance.now() / 1000).toFixed(2)}] ${message.text()}`);
          });
          // A renderer crash (out of memory, a wasm thread abort) closes the page; say so instead of "page closed".
          page.on('crash', () => console.error(`  [page] renderer crashed (${label})`));
          try {
            await page.goto(`${server.url}index.html?engine=${engine}`);
            await page.waitForFunction(() => (window as { benchReady?: boolean }).benchReady === true, undefined, { timeout: 30_000 });
            const result = await page.evaluate(
              (r) => (window as unknown as { runBench: (r: BenchRequest) => Promise<BenchResult> }).runBench(r),
              request,
            );
            console.error(`  ${JSON.stringify(result)}`);
            results.push({ ...result, fileBytes });
          } catch (error) {
            const message = (error as Error).message.split('\n').slice(0, 4).join(' ');
            failures.push(`${label}: ${message}`);
            console.error(`  FAILED: ${message}`);
          } finally {
            await page.close();
          }
        }
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  for (const failure of failures) console.log(`FAILED ${failure}`);
  console.log(
    `# Browser: headless Chromium ${browser.version()}, ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, ${mib(totalmem())} MiB, ${new Date().toISOString()}; 1-min load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end; best of ${repeat} pass(es)`,
  );
  console.log('');
  console.log('| model | engine | threads (used) | file MiB | load s | prefill tokens | prefill tok/s | decode 64 tok/s | detail |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results) {
    console.log(
      `| ${r.mix} | ${r.engine} | ${r.threadsRequested} (${r.threadsUsed}) | ${mib(r.fileBytes)} | ${(r.loadMs / 1000).toFixed(1)} | ${r.prefillTokensCounted} | ${r.prefillTokensPerSecond.toFixed(2)} | ${r.decodeTokensPerSecond.toFixed(2)} | ${r.detail} |`,
    );
  }
  const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2));
  const ours = results.filter((r) => r.engine.startsWith('SmallMind') && !r.engine.startsWith('SmallMind Node'));
  if (ours.length > 0) {
    console.log('');
    console.log('| model | threads | SmallMind / wllama prefill | decode | wllama load / SmallMind load |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of ours) {
      const peer = results.find((x) => x.engine.startsWith('wllama') && x.mix === r.mix && x.threadsRequested === r.threadsRequested);
      console.log(
        `| ${r.mix} | ${r.threadsRequested} | ${ratio(r.prefillTokensPerSecond, peer?.prefillTokensPerSecond)} | ${ratio(r.decodeTokensPerSecond, peer?.decodeTokensPerSecond)} | ${ratio(peer?.loadMs, r.loadMs)} |`,
      );
    }
  }
  const node = results.filter((r) => r.engine.startsWith('SmallMind Node'));
  if (ours.length > 0 && node.length > 0) {
    console.log('');
    console.log('| model | threads | SmallMind browser / SmallMind Node prefill | decode |');
    console.log('|---|---:|---:|---:|');
    for (const r of ours) {
      const peer = node.find((x) => x.mix === r.mix && x.threadsRequested === r.threadsRequested);
      console.log(`| ${r.mix} | ${r.threadsRequested} | ${ratio(r.prefillTokensPerSecond, peer?.prefillTokensPerSecond)} | ${ratio(r.decodeTokensPerSecond, peer?.decodeTokensPerSecond)} |`);
    }
  }
  const cached = results.filter((r) => r.opfsFirstLoadMs !== undefined && r.opfsSecondLoadMs !== undefined);
  if (cached.length > 0) {
    console.log('');
    console.log('| model | SmallMind load, cache none s | OPFS first load s (download + import + load) | OPFS second load s (from OPFS) | first / second |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of cached) {
      const s = (ms: number): string => (ms / 1000).toFixed(1);
      console.log(`| ${r.mix} | ${s(r.loadMs)} | ${s(r.opfsFirstLoadMs!)} | ${s(r.opfsSecondLoadMs!)} | ${(r.opfsFirstLoadMs! / r.opfsSecondLoadMs!).toFixed(2)} |`);
    }
  }
  if (failures.length > 0) process.exitCode = 1;
}

await main();
