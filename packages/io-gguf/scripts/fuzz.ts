/**
 * Long fuzzing campaign: `pnpm --filter @smallmind/io-gguf fuzz -- --cases 1000000 --seed 7`.
 * Runs in batches in child processes under a per-case watchdog and prints what it found.
 */
import { runFuzzInChild } from '../src/fuzz/run-in-child.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer`);
  return value;
}

const cases = arg('cases', 200_000);
const seed = arg('seed', Date.now() % 2 ** 31);
const batch = arg('batch', 50_000);
const caseTimeoutMs = arg('case-timeout-ms', 10_000);

const started = Date.now();
const errorsByCode: Record<string, number> = {};
let parsed = 0;
let slowest = 0;
let failures = 0;
for (let start = 0; start < cases; start += batch) {
  const n = Math.min(batch, cases - start);
  const { report, hang, crash } = await runFuzzInChild({ seed, cases: n, startIndex: start, caseTimeoutMs });
  if (hang !== undefined) {
    console.error(`HANG: seed ${seed} case ${hang.index} ran ${hang.afterMs} ms`);
    process.exitCode = 1;
    break;
  }
  if (report === undefined) {
    console.error(`CRASH: ${crash}`);
    process.exitCode = 1;
    break;
  }
  parsed += report.parsed;
  slowest = Math.max(slowest, report.slowestCaseMs);
  for (const [code, count] of Object.entries(report.errorsByCode)) errorsByCode[code] = (errorsByCode[code] ?? 0) + count;
  for (const f of report.failures) console.error(`FAILURE seed ${seed} case ${f.index} (${f.seed}: ${f.steps.join(', ')}): ${f.problem}`);
  failures += report.failures.length;
  if (failures > 0) process.exitCode = 1;
  console.log(`${start + n}/${cases} cases, ${failures} failures, ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
console.log(JSON.stringify({ seed, cases, parsed, failures, slowestCaseMs: Number(slowest.toFixed(1)), errorsByCode, seconds: (Date.now() - started) / 1000, node: process.version }, null, 2));
