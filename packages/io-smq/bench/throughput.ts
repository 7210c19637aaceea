/**
 * Write/read throughput of SMQ on the local disk: `pnpm bench` (size in MiB from SMQ_BENCH_MIB, default 1024).
 * The writer streams 4 MiB chunks as the GGUF importer does; reads verify CRC-32 unless stated otherwise.
 */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from '../src/checksum.js';
import { ModelMetadata } from '../src/metadata.js';
import { SmqReader } from '../src/reader.js';
import { SmqWriter } from '../src/writer.js';

const mib = Number(process.env.SMQ_BENCH_MIB ?? 1024);
const tensorCount = 8;
const tensorBytes = Math.floor((mib << 20) / tensorCount / 4096) * 4096;
const chunk = new Uint8Array(4 << 20).map((_, i) => (i * 2654435761) >>> 24);
const path = join(tmpdir(), `smq-bench-${process.pid}.smq`);
const gbps = (bytes: number, ms: number) => `${(bytes / ms / 1e6).toFixed(2)} GB/s`;

async function time(label: string, bytes: number, run: () => Promise<unknown> | unknown): Promise<void> {
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(44)} ${(bytes / 2 ** 20).toFixed(0).padStart(6)} MiB  ${ms.toFixed(0).padStart(6)} ms  ${gbps(bytes, ms)}`);
}

const total = tensorBytes * tensorCount;
await time('crc32 (zlib, 4 MiB chunks)', total, () => {
  let c = 0;
  for (let done = 0; done < total; done += chunk.length) c = crc32(chunk, c);
});
await time('sha256 (node crypto), for comparison', total, () => {
  const h = createHash('sha256');
  for (let done = 0; done < total; done += chunk.length) h.update(chunk);
  h.digest();
});
const rawPath = `${path}.raw`;
try {
  // Baselines: what the disk and the page cache give plain node fs calls with the same access pattern.
  await time('baseline: fs write 4 MiB chunks + fsync', total, async () => {
    const handle = await open(rawPath, 'w');
    for (let done = 0; done < total; done += chunk.length) await handle.write(chunk, 0, chunk.length, done);
    await handle.sync();
    await handle.close();
  });
  await time('baseline: fs read into fresh tensor-sized buffers', total, async () => {
    const handle = await open(rawPath, 'r');
    for (let i = 0; i < tensorCount; i++) {
      const buffer = new Uint8Array(tensorBytes);
      for (let done = 0; done < tensorBytes; done += 16 << 20) await handle.read(buffer, done, Math.min(16 << 20, tensorBytes - done), i * tensorBytes + done);
    }
    await handle.close();
  });
  await rm(rawPath, { force: true });
  await time('SmqWriter: stream, checksum, fsync, rename', total, async () => {
    const writer = await SmqWriter.create(path, {
      metadata: new ModelMetadata(),
      tensors: Array.from({ length: tensorCount }, (_, i) => ({ name: `t${i}`, type: 0, shape: [1024, tensorBytes / 4096], byteLength: tensorBytes })),
      overwrite: true,
    });
    for (let i = 0; i < tensorCount; i++) {
      for (let done = 0; done < tensorBytes; done += chunk.length) await writer.writeTensorData(`t${i}`, chunk.subarray(0, Math.min(chunk.length, tensorBytes - done)));
    }
    await writer.finish();
  });
  for (const verifyChecksums of [true, false]) {
    const reader = await SmqReader.open(path, { verifyChecksums });
    await time(`SmqReader.readTensorData (${verifyChecksums ? 'verified' : 'unverified'}, warm cache)`, total, async () => {
      for (const t of reader.tensors) await reader.readTensorData(t.name);
    });
    await reader.close();
  }
} finally {
  await rm(path, { force: true });
  await rm(rawPath, { force: true });
}
