import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedFile, renderGeneratedModule } from '../../scripts/build-wasm.mjs';

describe('generated kernel module', () => {
  it('is up to date with assembly/*.ts (run `pnpm generate` in packages/quantization-kernels if not)', async () => {
    expect(readFileSync(generatedFile, 'utf8') === (await renderGeneratedModule())).toBe(true);
    // Two AssemblyScript -O3 compiles: ~35 s on an idle core, several minutes on the shared machine.
  }, 600_000);
});
