/**
 * Long fuzz campaign for the SMQ reader: `pnpm fuzz [cases]` (or SMQ_FUZZ_CASES), seed from SMQ_FUZZ_SEED
 * (default: time-based, printed so that a failure can be replayed). Prints a JSON report; exits 1 on failures.
 */
import { runSmqFuzz } from '../src/fuzz.js';

function positiveInteger(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return n;
}

const cases = positiveInteger(process.argv[2] ?? process.env.SMQ_FUZZ_CASES, 100_000, 'cases');
const seed = positiveInteger(process.env.SMQ_FUZZ_SEED, Date.now() % 2 ** 32, 'SMQ_FUZZ_SEED');
process.stderr.write(`fuzzing ${cases} cases, seed ${seed}\n`);
const report = await runSmqFuzz({
  cases,
  seed,
  onProgress: (done) => process.stderr.write(`  ${done} / ${cases}\n`),
});
process.stdout.write(`${JSON.stringify({ ...report, failures: report.failures.slice(0, 20), failureCount: report.failures.length }, null, 1)}\n`);
process.exitCode = report.failures.length > 0 ? 1 : 0;
