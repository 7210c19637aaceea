/**
 * Benchmarks (not tests): `pnpm --filter @smallmind/io-gguf bench [-- options]`.
 *
 *  1. Header parse time of the largest fixture file and of the fixture with the largest header
 *     (../shared/fixtures when present, else the vendored fixtures).
 *  2. GGUF -> SMQ import throughput on a generated GGUF of `--size-gib` GiB (default 1) written with
 *     GgufWriter into os.tmpdir() and cached there between runs (`--delete-cache` removes it, and the
 *     gunzipped vocab fixtures cached by part 1). Free disk
 *     space is checked first; the page cache is warmed before timing.
 *
 * Options: --runs N (import runs, default 2), --size-gib N, --skip-import, --delete-cache.
 */
import { existsSync, statSync } from 'node:fs';
import { open, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MetadataValueType, ModelMetadata } from '@smallmind/io-smq';
import type { MetadataValue } from '@smallmind/io-smq';
import { GgmlType } from '@smallmind/quantization-tensors';
import { GgufWriter, importGgufToSmq, parseGgufHeader, planGgufLayout, readGguf } from '../src/index.js';
import type { GgufTensorSpec } from '../src/index.js';
import { REPO_FIXTURES, SHARED_FIXTURES, hasSharedFixtures, listGgufFixtures } from '../src/test-support/fixtures.js';

const flag = (name: string): boolean => process.argv.includes(`--${name}`);
function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const GiB = 2 ** 30;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function headerBench(): Promise<void> {
  const root = hasSharedFixtures ? SHARED_FIXTURES : REPO_FIXTURES;
  const fixtures = listGgufFixtures(root);
  const materialised = await Promise.all(
    fixtures.map(async (f) => {
      if (!f.gzipped) return { name: f.name, path: f.path, size: statSync(f.path).size };
      const path = join(tmpdir(), `smallmind-bench-${f.name.replace(/[\\/]/g, '__').replace(/\.gz$/, '')}`);
      if (!existsSync(path)) await writeFile(path, gunzipSync(await readFile(f.path)));
      return { name: f.name, path, size: statSync(path).size };
    }),
  );
  const withHeaders = await Promise.all(
    materialised.map(async (m) => {
      const file = await readGguf(m.path);
      await file.close();
      return { ...m, headerBytes: file.headerByteLength, keys: file.metadata.size, tensors: file.tensors.length };
    }),
  );
  // The largest model file (its header is small), and the file with the largest header (a big tokenizer).
  const largestModel = withHeaders.filter((f) => f.tensors > 0).reduce((a, b) => (b.size > a.size ? b : a));
  const largestHeader = withHeaders.reduce((a, b) => (b.headerBytes > a.headerBytes ? b : a));
  console.log(`fixtures: ${root} (${withHeaders.length} GGUF files)`);
  for (const target of [largestModel, largestHeader]) {
    const bytes = new Uint8Array(await readFile(target.path));
    for (let i = 0; i < 5; i++) parseGgufHeader(bytes); // warm-up (JIT)
    const parse: number[] = [];
    const open_: number[] = [];
    for (let i = 0; i < 20; i++) {
      parse.push(await timeMs(() => parseGgufHeader(bytes)));
      open_.push(
        await timeMs(async () => {
          const f = await readGguf(target.path);
          await f.close();
        }),
      );
    }
    console.log(
      `header ${target.name}: file ${(target.size / 1e6).toFixed(2)} MB, header ${(target.headerBytes / 1e6).toFixed(3)} MB (${target.keys} keys, ${target.tensors} tensors): ` +
        `parseGgufHeader median ${median(parse).toFixed(2)} ms, readGguf (open+parse+close) median ${median(open_).toFixed(2)} ms`,
    );
  }
}

function syntheticModel(sizeGiB: number): { metadata: ModelMetadata; tensors: GgufTensorSpec[] } {
  const vocab = 32_000;
  const dim = 4096;
  const ffn = 11_008;
  const tokens = Array.from({ length: vocab }, (_, i) => `tok${i}`);
  const entries: Array<[string, MetadataValue]> = [
    ['general.architecture', { type: MetadataValueType.STRING, value: 'llama' }],
    ['general.name', { type: MetadataValueType.STRING, value: 'smallmind import benchmark (random weights)' }],
    ['llama.embedding_length', { type: MetadataValueType.UINT32, value: dim }],
    ['llama.feed_forward_length', { type: MetadataValueType.UINT32, value: ffn }],
    ['tokenizer.ggml.model', { type: MetadataValueType.STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.STRING, values: tokens } }],
    ['tokenizer.ggml.scores', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.FLOAT32, values: tokens.map((_, i) => -i) } }],
  ];
  const tensors: GgufTensorSpec[] = [{ name: 'token_embd.weight', type: GgmlType.Q6_K, shape: [dim, vocab] }];
  let bytes = 0;
  for (let layer = 0; bytes < sizeGiB * GiB; layer++) {
    const block: GgufTensorSpec[] = [
      { name: `blk.${layer}.attn_norm.weight`, type: GgmlType.F32, shape: [dim] },
      { name: `blk.${layer}.attn_q.weight`, type: GgmlType.Q4_K, shape: [dim, dim] },
      { name: `blk.${layer}.attn_k.weight`, type: GgmlType.Q4_K, shape: [dim, dim] },
      { name: `blk.${layer}.attn_v.weight`, type: GgmlType.Q6_K, shape: [dim, dim] },
      { name: `blk.${layer}.attn_output.weight`, type: GgmlType.Q4_K, shape: [dim, dim] },
      { name: `blk.${layer}.ffn_norm.weight`, type: GgmlType.F32, shape: [dim] },
      { name: `blk.${layer}.ffn_gate.weight`, type: GgmlType.Q4_0, shape: [dim, ffn] },
      { name: `blk.${layer}.ffn_up.weight`, type: GgmlType.Q4_0, shape: [dim, ffn] },
      { name: `blk.${layer}.ffn_down.weight`, type: GgmlType.Q8_0, shape: [ffn, dim] },
    ];
    tensors.push(...block);
    bytes = planGgufLayout(new ModelMetadata(), tensors).fileSize;
  }
  return { metadata: new ModelMetadata(entries), tensors };
}

async function ensureFreeSpace(dir: string, bytes: number): Promise<void> {
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  if (free < bytes) throw new Error(`${dir} has ${(free / GiB).toFixed(1)} GiB free; the import benchmark needs ${(bytes / GiB).toFixed(1)} GiB`);
}

/** The cached benchmark GGUF, generated on first use. */
async function benchmarkGguf(sizeGiB: number): Promise<string> {
  const path = join(tmpdir(), `smallmind-io-gguf-bench-${sizeGiB}GiB.gguf`);
  const model = syntheticModel(sizeGiB);
  const layout = planGgufLayout(model.metadata, model.tensors);
  if (existsSync(path) && statSync(path).size === layout.fileSize) {
    console.log(`using cached ${path} (${(layout.fileSize / GiB).toFixed(2)} GiB; --delete-cache removes it)`);
    return path;
  }
  await ensureFreeSpace(tmpdir(), 2.2 * layout.fileSize);
  console.log(`generating ${path} (${(layout.fileSize / GiB).toFixed(2)} GiB, ${layout.tensors.length} tensors) ...`);
  const pattern = new Uint8Array(16 << 20);
  let s = 12345;
  for (let i = 0; i < pattern.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    pattern[i] = s >>> 24;
  }
  const writer = await GgufWriter.create(path, { ...model, overwrite: true });
  let rotate = 0;
  for (const t of layout.tensors) {
    for (let done = 0; done < t.byteLength; ) {
      const n = Math.min(pattern.length - rotate, t.byteLength - done);
      await writer.writeTensorData(t.name, pattern.subarray(rotate, rotate + n));
      done += n;
      rotate = (rotate + n) % pattern.length;
    }
  }
  await writer.finish();
  return path;
}

async function warmPageCache(path: string): Promise<void> {
  const handle = await open(path, 'r');
  const buffer = new Uint8Array(16 << 20);
  try {
    while ((await handle.read(buffer, 0, buffer.length, null)).bytesRead > 0);
  } finally {
    await handle.close();
  }
}

async function importBench(): Promise<void> {
  const sizeGiB = option('size-gib', 1);
  const runs = option('runs', 2);
  const source = await benchmarkGguf(sizeGiB);
  const out = join(tmpdir(), `smallmind-io-gguf-bench-${process.pid}.smq`);
  try {
    for (let run = 1; run <= runs; run++) {
      await ensureFreeSpace(tmpdir(), statSync(source).size * 1.1);
      await warmPageCache(source);
      let lastChunkAt = 0;
      const start = performance.now();
      const result = await importGgufToSmq(source, out, { overwrite: true, onProgress: () => (lastChunkAt = performance.now()) });
      const total = (performance.now() - start) / 1000;
      const copy = (lastChunkAt - start) / 1000;
      console.log(
        `import run ${run}: ${(result.bytes / 1e9).toFixed(3)} GB of tensor data, ${result.tensors} tensors in ${total.toFixed(2)} s = ${(result.bytes / 1e9 / total).toFixed(2)} GB/s ` +
          `(copy phase ${copy.toFixed(2)} s = ${(result.bytes / 1e9 / copy).toFixed(2)} GB/s; header + fsync + rename ${(total - copy).toFixed(2)} s)`,
      );
      await rm(out, { force: true });
    }
  } finally {
    await rm(out, { force: true });
  }
}

console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'unknown cpu'}, ${(totalmem() / GiB).toFixed(1)} GiB RAM, ${new Date().toISOString()}`);
if (flag('delete-cache')) {
  const cached = (await readdir(tmpdir())).filter((f) => f.startsWith('smallmind-io-gguf-bench-') || f.startsWith('smallmind-bench-vocab'));
  for (const f of cached) await rm(join(tmpdir(), f), { force: true });
  console.log(`benchmark cache deleted (${cached.length} files)`);
} else {
  await headerBench();
  if (!flag('skip-import')) await importBench();
}
