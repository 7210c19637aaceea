import { describe, expect, it } from 'vitest';
import { runSmqFuzz } from './fuzz.js';

describe('fuzz (default suite: a few thousand mutated files)', () => {
  it('every mutant is refused with a typed error or parses consistently, none undetected, none slow', async () => {
    // The time bound catches hangs; it is loose because CI cores are shared and GC pauses happen.
    const report = await runSmqFuzz({ cases: 4000, seed: 20260801, caseTimeLimitMs: 2000 });
    expect(report.failures, JSON.stringify(report.failures.slice(0, 3), null, 1)).toEqual([]);
    // The campaign really exercised the reader: every mutation kind ran, the resealed ones got past the
    // checksums into the structural checks, and refusals spread over many rules.
    expect(Object.keys(report.mutations).sort()).toEqual(['bitflip', 'bitflip-resealed', 'byte-resealed', 'extend', 'extreme-field-resealed', 'garbage', 'prefix-field-resealed', 'splice-resealed', 'truncate']);
    expect(report.accepted).toBeGreaterThan(50);
    expect(Object.keys(report.rejections).length).toBeGreaterThanOrEqual(20);
    expect(report.slowestCaseMs).toBeLessThan(2000);
  });
});
