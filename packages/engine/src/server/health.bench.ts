/**
 * `node --import tsx src/server/health.bench.ts [clients] [seconds]` (from packages/engine): how fast /health
 * answers while the server generates. The server runs in its own process (serve-main.ts, stories260K,
 * --parallel 4); this process runs `clients` streaming clients and probes /health every 50 ms, then prints
 * the probe latencies (p50 / p99 / max), the answers and the load average.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { storiesGguf } from './test-support.js';

const clients = Number(process.argv[2] ?? 16);
const seconds = Number(process.argv[3] ?? 10);
const cacheDir = mkdtempSync(join(tmpdir(), 'smallmind-health-bench-'));
const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./serve-main.ts', import.meta.url)), 'serve', storiesGguf, '--port', '0', '--parallel', '4', '--max-queue', '64', '--log-level', 'silent', '--cache-dir', cacheDir], {
  cwd: fileURLToPath(new URL('../../', import.meta.url)),
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!.trim());
    });
    child.on('exit', () => reject(new Error('the server exited')));
  });
  for (;;) {
    if ((await fetch(`${url}/health`)).status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const deadline = Date.now() + seconds * 1000;
  const answers = { ok: 0, rejected: 0, other: 0 };
  const client = async (id: number): Promise<void> => {
    while (Date.now() < deadline) {
      const r = await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 64, temperature: 0.8, seed: id, stream: true }),
      });
      await r.text();
      if (r.status === 200) answers.ok++;
      else if (r.status === 429) answers.rejected++;
      else answers.other++;
    }
  };
  const latencies: number[] = [];
  const probe = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const started = performance.now();
      await (await fetch(`${url}/health`)).text();
      latencies.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const load = loadavg()[0]!;
  await Promise.all([...Array.from({ length: clients }, (_, i) => client(i)), probe()]);
  latencies.sort((a, b) => a - b);
  const at = (q: number): string => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
  console.log(`/health under load: ${clients} streaming clients, ${seconds} s, ${latencies.length} probes: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`);
  console.log(`completions: ${answers.ok} ok, ${answers.rejected} x 429, ${answers.other} other; load average ${load.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(cacheDir, { recursive: true, force: true });
}
