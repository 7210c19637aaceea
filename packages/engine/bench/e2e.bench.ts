// End-to-end benchmark: SmallMind (runtime SmqModelLoader + the kernels backend) vs node-llama-cpp
// 3.21.1 (llama.cpp) on the same random-weight TinyLlama-1.1B-shaped files (Q4_0, Q8_0, Q4_K_M),
// equal thread counts, prefill of 128 tokens and 64 decoded tokens, resident memory after load;
// plus SmallMind's preserveQuantization=false F32 path. Every measurement runs in its own child
// process so resident memory is the model's alone.
//
//   pnpm --filter @smallmind/engine bench            (everything; installs node-llama-cpp on first use)
//   BENCH_MIXES=Q4_0 BENCH_THREADS=1 BENCH_SKIP_LLAMA=1 BENCH_SKIP_F32=1 ... to narrow;
//   BENCH_RELAXED=0 runs SmallMind on the SIMD128 build (default: relaxed SIMD where the engine has it)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, statfsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importGgufToSmq } from '@smallmind/io-gguf';
import { createBackend } from '@smallmind/quantization-kernels';
import { SmqModelLoader, silentLogger } from '@smallmind/runtime';
import { TINYLLAMA_SHAPE, ensureModel, type ModelMix } from './make-model.js';

const PROMPT_TOKENS = 128;
const DECODE_TOKENS = 64;
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const here = dirname(fileURLToPath(import.meta.url));
const llamaDir = join(here, '..', '..', '..', 'bench', 'node-llama-cpp');

export interface RunResult {
  readonly engine: 'smallmind' | 'llama.cpp';
  readonly mix: string;
  readonly threads: number;
  readonly f32: boolean;
  readonly backend: string;
  readonly loadSeconds: number;
  readonly rssBytes: number;
  /** Resident memory just before the model was loaded (Node, the engine, its libraries). */
  readonly rssBeforeLoadBytes: number;
  readonly prefillTokensPerSecond: number;
  readonly decodeTokensPerSecond: number;
}

/** Deterministic prompt of ordinary (non-byte, non-control) token ids. */
export function promptTokens(): number[] {
  return Array.from({ length: PROMPT_TOKENS }, (_, i) => 259 + ((i * 7919) % (TINYLLAMA_SHAPE.vocab - 259)));
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

async function runSmallMind(smq: string, mix: string, threads: number, f32: boolean): Promise<RunResult> {
  const backend = await createBackend({ threads, relaxedSimd: process.env.BENCH_RELAXED !== '0' });
  (globalThis as { gc?: () => void }).gc?.();
  const rssBeforeLoadBytes = process.memoryUsage().rss;
  const t0 = performance.now();
  const loaded = await SmqModelLoader.loadFromSmq(smq, { backend, logger: silentLogger, preserveQuantization: !f32 });
  const model = loaded.createSession({ contextSize: 512 });
  const loadSeconds = (performance.now() - t0) / 1000;
  (globalThis as { gc?: () => void }).gc?.();
  const rssBytes = process.memoryUsage().rss;
  const prompt = promptTokens();
  model.evaluate(prompt.slice(0, 16)); // warm the JS paths
  // The machine is shared: each pass is timed and the fastest kept (BENCH_REPEAT passes, default 3).
  let prefillSeconds = Infinity;
  let decodeSeconds = Infinity;
  for (let pass = 0; pass < REPEAT; pass++) {
    model.reset();
    const p0 = performance.now();
    let logits = model.evaluate(prompt);
    prefillSeconds = Math.min(prefillSeconds, (performance.now() - p0) / 1000);
    const d0 = performance.now();
    for (let i = 0; i < DECODE_TOKENS; i++) logits = model.evaluate([argmax(logits)]);
    decodeSeconds = Math.min(decodeSeconds, (performance.now() - d0) / 1000);
  }
  model.dispose();
  await loaded.dispose();
  await backend.dispose();
  return {
    engine: 'smallmind', mix, threads, f32, backend: backend.name, loadSeconds, rssBytes, rssBeforeLoadBytes,
    prefillTokensPerSecond: PROMPT_TOKENS / prefillSeconds, decodeTokensPerSecond: DECODE_TOKENS / decodeSeconds,
  };
}

function child(args: string[], cwd: string, script: string, extraNodeArgs: string[]): RunResult {
  const result = spawnSync(process.execPath, [...extraNodeArgs, script, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (result.status !== 0 || line === undefined) throw new Error(`benchmark child ${script} ${args.join(' ')} failed (${result.status}):\n${result.stderr}\n${result.stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as RunResult;
}

function ensureLlama(): boolean {
  if (existsSync(join(llamaDir, 'node_modules', 'node-llama-cpp'))) return true;
  console.error(`installing node-llama-cpp 3.21.1 into ${llamaDir} (prebuilt CPU binaries, ~700 MB)`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: llamaDir, stdio: 'inherit' });
  return true;
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === '--child') {
    const [smq, mix, threads, f32] = args;
    console.log(`RESULT ${JSON.stringify(await runSmallMind(smq!, mix!, Number(threads), f32 === 'f32'))}`);
    return;
  }
  const mixes = (process.env.BENCH_MIXES?.split(',') ?? ['Q4_0', 'Q8_0', 'Q4_K_M']) as ModelMix[];
  const threadCounts = process.env.BENCH_THREADS?.split(',').map(Number) ?? [1, 2];
  const cacheDir = join(tmpdir(), 'smallmind-bench');
  mkdirSync(cacheDir, { recursive: true });
  const free = statfsSync(cacheDir).bavail * statfsSync(cacheDir).bsize;
  if (free < 8 * 2 ** 30) throw new Error(`${cacheDir} has ${mib(free)} MiB free; the models need about 5 GiB (GGUF + SMQ of three mixes)`);
  const withLlama = process.env.BENCH_SKIP_LLAMA !== '1' && ensureLlama();
  const self = fileURLToPath(import.meta.url);
  const nodeArgs = ['--expose-gc', ...process.execArgv];
  const loadAtStart = loadavg()[0]!;
  const results: Array<RunResult & { fileBytes: number }> = [];
  const failures: string[] = [];
  /** Runs one measurement; a failed child is reported and skipped, not fatal to the others. */
  const measure = (label: string, fileBytes: number, run: () => RunResult): void => {
    console.error(label);
    try {
      const result = { ...run(), fileBytes };
      console.error(`  ${JSON.stringify(result)}`);
      results.push(result);
    } catch (error) {
      failures.push(`${label}: ${(error as Error).message.split('\n').slice(0, 6).join(' ')}`);
      console.error(`  FAILED: ${(error as Error).message}`);
    }
  };
  for (const mix of mixes) {
    const gguf = await ensureModel(join(cacheDir, `tinyllama-shape-${mix}.gguf`), mix, (m) => console.error(m));
    const smq = gguf.replace(/\.gguf$/, '.smq');
    if (!existsSync(smq)) await importGgufToSmq(gguf, smq);
    const fileBytes = statSync(gguf).size;
    for (const threads of threadCounts) {
      measure(`${mix}, ${threads} thread(s): SmallMind`, fileBytes, () => child(['--child', smq, mix, String(threads), 'quantized'], process.cwd(), self, nodeArgs));
      if (withLlama) {
        measure(`${mix}, ${threads} thread(s): node-llama-cpp`, fileBytes, () =>
          child([gguf, mix, String(threads), String(PROMPT_TOKENS), String(DECODE_TOKENS), String(REPEAT)], llamaDir, join(llamaDir, 'run.mjs'), ['--expose-gc']),
        );
      }
      if (mix === mixes[0] && process.env.BENCH_SKIP_F32 !== '1') {
        measure(`${mix} dequantized to F32, ${threads} thread(s): SmallMind`, fileBytes, () => child(['--child', smq, mix, String(threads), 'f32'], process.cwd(), self, nodeArgs));
      }
    }
  }
  for (const failure of failures) console.log(`FAILED ${failure}`);
  console.log(`# End to end: ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores, ${mib(totalmem())} MiB, Node ${process.version}, ${new Date().toISOString()}; 1-min load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end`);
  console.log('');
  console.log(`| model | engine | threads | file MiB | RSS after load MiB | RSS / file | (RSS - RSS before load) / file | prefill ${PROMPT_TOKENS} tok/s | decode ${DECODE_TOKENS} tok/s | load s |`);
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const engine = r.engine === 'smallmind' ? `SmallMind ${r.backend}${r.f32 ? ' (F32, preserveQuantization=false)' : ''}` : 'node-llama-cpp 3.21.1';
    console.log(
      `| ${r.mix} | ${engine} | ${r.threads} | ${mib(r.fileBytes)} | ${mib(r.rssBytes)} | ${(r.rssBytes / r.fileBytes).toFixed(2)} | ${((r.rssBytes - r.rssBeforeLoadBytes) / r.fileBytes).toFixed(2)} | ${r.prefillTokensPerSecond.toFixed(2)} | ${r.decodeTokensPerSecond.toFixed(2)} | ${r.loadSeconds.toFixed(1)} |`,
    );
  }
  console.log('');
  console.log('| model | threads | SmallMind / llama.cpp prefill | decode | load time | RSS | fused / F32 decode | fused / F32 prefill | F32 RSS / fused RSS |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results.filter((x) => x.engine === 'smallmind' && !x.f32)) {
    const peer = results.find((x) => x.engine === 'llama.cpp' && x.mix === r.mix && x.threads === r.threads);
    const f32 = results.find((x) => x.engine === 'smallmind' && x.f32 && x.mix === r.mix && x.threads === r.threads);
    const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2));
    console.log(
      `| ${r.mix} | ${r.threads} | ${ratio(r.prefillTokensPerSecond, peer?.prefillTokensPerSecond)} | ${ratio(r.decodeTokensPerSecond, peer?.decodeTokensPerSecond)} | ${ratio(r.loadSeconds, peer?.loadSeconds)} | ${ratio(r.rssBytes, peer?.rssBytes)} | ${ratio(r.decodeTokensPerSecond, f32?.decodeTokensPerSecond)} | ${ratio(r.prefillTokensPerSecond, f32?.prefillTokensPerSecond)} | ${ratio(f32?.rssBytes, r.rssBytes)} |`,
    );
  }
}

await main();
