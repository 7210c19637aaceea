/**
 * How responsive the caller's thread stays while a 1.1B Q4_0 model generates in the engine's inference
 * worker: perf_hooks.monitorEventLoopDelay on the main thread during load and during 64 greedy tokens,
 * with a 1 ms timer running beside it as a stand-in for a server's other work. Not a test: run with
 *   pnpm --filter @smallmind/engine bench:event-loop     (BENCH_THREADS=1|2, BENCH_DIR for the model cache)
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { silentLogger } from '@smallmind/runtime';
import { SmallMindEngine } from '../src/index.js';
import { ensureModel } from './make-model.js';

const dir = process.env.BENCH_DIR ?? join(tmpdir(), 'smallmind-bench');
const threads = Number(process.env.BENCH_THREADS ?? '2');

function summary(h: ReturnType<typeof monitorEventLoopDelay>): string {
  const ms = (ns: number): string => (ns / 1e6).toFixed(2);
  return `p50 ${ms(h.percentile(50))} ms, p99 ${ms(h.percentile(99))} ms, max ${ms(h.max)} ms (${h.count} samples)`;
}

async function main(): Promise<void> {
  const gguf = await ensureModel(join(dir, 'tinyllama-shape-Q4_0.gguf'), 'Q4_0', (m) => console.log(m));
  const engine = new SmallMindEngine({ logger: silentLogger, threads, cacheDir: join(dir, 'cache') });
  const ticker = setInterval(() => {}, 1);
  try {
    const loadDelay = monitorEventLoopDelay({ resolution: 1 });
    loadDelay.enable();
    const t0 = performance.now();
    const info = await engine.loadModel({ path: gguf });
    loadDelay.disable();
    console.log(`load: ${((performance.now() - t0) / 1000).toFixed(1)} s (${info.kernels}); main-thread event loop delay ${summary(loadDelay)}`);

    const session = await engine.createSession({ contextSize: 256 });
    await session.generate('Once upon a time', { maxTokens: 4 }); // warm-up
    await session.reset();
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const result = await session.generate('Once upon a time, in a land far away, there lived a', { maxTokens: 64 });
    delay.disable();
    console.log(
      `generate: ${result.timings.promptTokens} prompt tokens, ${result.timings.generatedTokens} tokens at ${result.timings.tokensPerSecond.toFixed(1)} tok/s; ` +
        `main-thread event loop delay ${summary(delay)}`,
    );
    console.log(`node ${process.version}, threads ${threads}, load average ${(await import('node:os')).loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  } finally {
    clearInterval(ticker);
    await engine.dispose();
  }
}

await main();
