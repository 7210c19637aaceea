import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A fresh Node started with no flags: createBackend must turn relaxed SIMD on by itself (Node 20
// sets V8's flag at run time; Node 22+ has it on) and the relaxed build must match the reference.
describe('relaxed-SIMD build', () => {
  it('is chosen by default in a plain Node process and matches the reference for every format', () => {
    const script = fileURLToPath(new URL('./testing/relaxed-check.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { name: string; worst: Record<string, number> };
    expect(result.name).toBe('wasm-relaxed-simd');
    expect(Object.keys(result.worst)).toHaveLength(15);
    for (const [format, error] of Object.entries(result.worst)) expect(error, format).toBeLessThanOrEqual(1e-5);
  });
});
