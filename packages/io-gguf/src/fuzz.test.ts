import { describe, expect, it } from 'vitest';
import { runFuzzInChild } from './fuzz/run-in-child.js';

describe('fuzzing the GGUF parser (seeded, default suite)', () => {
  it('3000 mutated files: every one parses correctly or fails with a typed GgufFormatError, none hangs', async () => {
    const { report, hang, crash } = await runFuzzInChild({ seed: 20250220, cases: 3000, caseTimeoutMs: 10_000 });
    expect(hang, `case ${hang?.index} ran ${hang?.afterMs} ms`).toBeUndefined();
    expect(crash).toBeUndefined();
    expect(report).toBeDefined();
    expect(report!.failures).toEqual([]);
    expect(report!.cases).toBe(3000);
    // The mutations must actually reach the parser's checks: many distinct error codes, and some files still parse.
    expect(report!.parsed).toBeGreaterThan(50);
    expect(Object.keys(report!.errorsByCode).length).toBeGreaterThanOrEqual(12);
  });
});
