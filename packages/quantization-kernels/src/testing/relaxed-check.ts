// Run by relaxed-simd.test.ts in a child Node started without flags: checks that the default
// backend is the relaxed-SIMD build and compares it with the reference for every format (one JSON line).
import { createBackend } from '../create-backend.js';
import { KERNEL_FORMATS } from '../kernel-formats.js';
import { randomFloats, referenceTensor } from './compare.js';

const backend = await createBackend({ threads: 2, minParallelWork: 0, warmUpRounds: 1 });
const worst: Record<string, number> = {};
for (const format of KERNEL_FORMATS) {
  const cols = format.blockSize === 1 ? 100 : 4 * format.blockSize;
  const rows = 33;
  const reference = referenceTensor(format.type, rows, cols, 11);
  const fast = backend.prepare(reference);
  const weights = reference.toFloat32();
  for (const n of [1, 5]) {
    const x = randomFloats(cols * n, 5 + n);
    const expected = new Float32Array(rows * n);
    const actual = new Float32Array(rows * n);
    reference.matMul(x, n, expected);
    fast.matMul(x, n, actual);
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < rows; r++) {
        let magnitude = 0;
        for (let c = 0; c < cols; c++) magnitude += Math.abs(weights[r * cols + c]! * x[i * cols + c]!);
        const error = Math.abs(actual[i * rows + r]! - expected[i * rows + r]!) / magnitude;
        worst[format.exportName] = Math.max(worst[format.exportName] ?? 0, Number.isNaN(error) ? Infinity : error);
      }
    }
  }
}
console.log(JSON.stringify({ name: backend.name, worst }));
await backend.dispose();
