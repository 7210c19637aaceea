/**
 * Memory benchmark: resident memory after loading a model with `preserveQuantization` true vs false,
 * next to the file's tensor bytes and their F32 size. Each mode runs in a fresh child process
 * (RSS only grows within a process), measured after a forced GC.
 *
 *   pnpm --filter @smallmind/runtime bench [model.smq]
 *
 * Without an argument it measures a model with the exact shapes and tensor types of
 * fixtures/synthetic/synthetic-Q4_K_M.gguf (Q4_K x12, Q6_K x3, F32 x5; 1.31 M parameters), built
 * here with the reference quantizers. Pass the SMQ of the fixture itself (e.g. from
 * `smallmind import`) to measure the real file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmqReader, writeSmq } from '@smallmind/io-smq';
import { GgmlType, quantize } from '@smallmind/quantization-tensors';
import { ReferenceBackend } from '@smallmind/quantization-kernels';
import { SmqModelLoader, silentLogger } from '../src/index.js';
import { randomLlamaTensors, tinyConfig, tinyLlamaMetadata } from '../src/tiny-llama.fixture.js';

interface Measurement {
  readonly mode: 'preserveQuantization: true' | 'preserveQuantization: false';
  readonly rssDelta: number;
  readonly arrayBuffersDelta: number;
}

const MiB = 2 ** 20;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(2)} MiB`;

/** synthetic-Q4_K_M's tensor types (its NAME.ref.json): llama-quantize put these three in Q6_K. */
const Q6_K_TENSORS = new Set(['token_embd.weight', 'blk.1.attn_v.weight', 'blk.1.ffn_down.weight']);

function syntheticQ4KMType(name: string, dims: number): number {
  if (dims === 1) return GgmlType.F32;
  return Q6_K_TENSORS.has(name) ? GgmlType.Q6_K : GgmlType.Q4_K;
}

async function buildSyntheticQ4KM(path: string): Promise<void> {
  const config = tinyConfig({ vocabSize: 512, embeddingLength: 256, feedForwardLength: 512, headCount: 4, headCountKv: 2, blockCount: 2, contextLength: 512 });
  const tensors = [...randomLlamaTensors(config, 20250220, true)].map(([name, raw]) => {
    const type = syntheticQ4KMType(name, raw.shape.length);
    const data = type === GgmlType.F32 ? new Uint8Array(raw.values.buffer) : quantize(type, raw.values);
    return { name, type, shape: raw.shape, data };
  });
  await writeSmq(path, { metadata: tinyLlamaMetadata(config), tensors });
}

async function child(path: string, preserveQuantization: boolean): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run the child with --expose-gc');
  // Warm up module code paths on a first load so that the measured load allocates only model data.
  // The reference backend: this measures the weights as the runtime holds them. The WebAssembly backend copies
  // them into kernel memory next to a fixed scratch arena; docs/benchmarks.md measures RSS with it on a
  // TinyLlama-sized model, where the arena is negligible.
  const backend = new ReferenceBackend();
  const warm = await SmqModelLoader.loadFromSmq(path, { preserveQuantization, logger: silentLogger, backend });
  warm.createSession({ contextSize: 8 }).evaluate([1]);
  await warm.dispose();
  gc();
  const before = process.memoryUsage();
  const loaded = await SmqModelLoader.loadFromSmq(path, { preserveQuantization, logger: silentLogger, backend });
  gc();
  const after = process.memoryUsage();
  await loaded.dispose();
  const result: Measurement = {
    mode: preserveQuantization ? 'preserveQuantization: true' : 'preserveQuantization: false',
    rssDelta: after.rss - before.rss,
    arrayBuffersDelta: after.arrayBuffers - before.arrayBuffers,
  };
  process.stdout.write(JSON.stringify(result));
}

async function main(): Promise<void> {
  const [flag, path, mode] = process.argv.slice(2);
  if (flag === '--child' && path !== undefined) return child(path, mode === 'true');

  const workDir = mkdtempSync(join(tmpdir(), 'smallmind-memory-bench-'));
  try {
    const modelPath = flag !== undefined ? resolve(flag) : join(workDir, 'synthetic-Q4_K_M-shaped.smq');
    if (flag === undefined) await buildSyntheticQ4KM(modelPath);
    const reader = await SmqReader.open(modelPath);
    const tensorBytes = reader.tensors.reduce((sum, t) => sum + t.byteLength, 0);
    const f32Bytes = reader.tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1) * 4, 0);
    await reader.close();
    const results: Measurement[] = [];
    for (const preserve of [true, false]) {
      const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', modelPath, String(preserve)], {
        cwd: resolve(dirname(fileURLToPath(import.meta.url)), '..'),
        encoding: 'utf8',
      });
      if (run.status !== 0) throw new Error(`child failed: ${run.stderr}`);
      results.push(JSON.parse(run.stdout) as Measurement);
    }
    console.log(`model: ${flag ?? 'synthetic-Q4_K_M-shaped (built by this bench)'}`);
    console.log(`file: ${mib(statSync(modelPath).size)}; tensor data ${mib(tensorBytes)}; as F32 ${mib(f32Bytes)}`);
    console.log('| mode | RSS delta | typed-array delta | vs tensor data |');
    console.log('|---|---:|---:|---:|');
    for (const r of results) {
      console.log(`| ${r.mode} | ${mib(r.rssDelta)} | ${mib(r.arrayBuffersDelta)} | ${(r.arrayBuffersDelta / tensorBytes).toFixed(2)}x |`);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
