/**
 * Dequantization throughput of every supported format (not a test: run `pnpm bench` in this
 * package). For each format, ~4 MB of block data made by the format's own reference quantizer from
 * gaussian values (random bytes for formats without a quantizer) is dequantized repeatedly;
 * the median of several timed passes is reported as input GB/s and millions of weights per second.
 */
import { performance } from 'node:perf_hooks';
import { blockFormat, supportedGgmlTypes } from '../format-registry.js';
import { gaussianValues, randomBytes } from '../test-support/random.js';

const TARGET_BYTES = 4 * 1024 * 1024;
const PASSES = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function benchFormat(typeId: number): { name: string; megabytes: number; gbPerSecond: number; mWeightsPerSecond: number } {
  const format = blockFormat(typeId);
  const { name, blockSize, typeSize } = format.info;
  const blocks = Math.max(1, Math.floor(TARGET_BYTES / typeSize));
  const count = blocks * blockSize;
  const bytes = new Uint8Array(blocks * typeSize);
  if (format.quantize !== undefined) format.quantize(gaussianValues(count, 1), 0, bytes, 0, count);
  else bytes.set(randomBytes(bytes.length, 1));
  const out = new Float32Array(count);
  for (let pass = 0; pass < 3; pass++) format.dequantize(bytes, 0, out, 0, count); // warm-up (JIT)
  const seconds: number[] = [];
  for (let pass = 0; pass < PASSES; pass++) {
    const start = performance.now();
    format.dequantize(bytes, 0, out, 0, count);
    seconds.push((performance.now() - start) / 1000);
  }
  const time = median(seconds);
  return { name, megabytes: bytes.length / 1e6, gbPerSecond: bytes.length / time / 1e9, mWeightsPerSecond: count / time / 1e6 };
}

console.log(`dequantize throughput (median of ${PASSES} passes, Node ${process.version})`);
console.log('format    input MB   GB/s (input)   M weights/s');
for (const info of supportedGgmlTypes()) {
  const result = benchFormat(info.id);
  console.log(
    `${result.name.padEnd(8)} ${result.megabytes.toFixed(2).padStart(9)} ${result.gbPerSecond.toFixed(3).padStart(14)} ${result.mWeightsPerSecond.toFixed(1).padStart(13)}`,
  );
}
