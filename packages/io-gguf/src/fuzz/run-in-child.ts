/**
 * Runs a fuzzing campaign in a child process under a watchdog: if a single case runs longer than
 * `caseTimeoutMs`, the child is killed and the report names the case (a parser hang is a failure too).
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FuzzReport } from './campaign.js';
import type { ChildMessage } from './fuzz-child.js';

export interface FuzzInChildOptions {
  readonly seed: number;
  readonly cases: number;
  readonly startIndex?: number;
  /** Longest a single case may take before it counts as a hang. */
  readonly caseTimeoutMs: number;
}

export interface FuzzInChildResult {
  /** Undefined when the child hung or died. */
  readonly report: FuzzReport | undefined;
  readonly hang: { readonly index: number; readonly afterMs: number } | undefined;
  /** Exit problem (crash, non-zero exit without a report). */
  readonly crash: string | undefined;
}

const packageDir = fileURLToPath(new URL('../../', import.meta.url));
const childEntry = fileURLToPath(new URL('./fuzz-child.ts', import.meta.url));

export function runFuzzInChild(options: FuzzInChildOptions): Promise<FuzzInChildResult> {
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = fork(childEntry, [JSON.stringify({ seed: options.seed, cases: options.cases, startIndex: options.startIndex ?? 0 })], {
    cwd: packageDir, // tsx maps @smallmind/* to sources through this package's tsconfig paths
    execArgv: ['--import', tsxLoader],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve) => {
    let current = -1;
    let caseStarted = Date.now();
    let report: FuzzReport | undefined;
    let hang: FuzzInChildResult['hang'];
    const watchdog = setInterval(() => {
      const elapsed = Date.now() - caseStarted;
      if (elapsed > options.caseTimeoutMs && report === undefined) {
        hang = { index: current, afterMs: elapsed };
        child.kill('SIGKILL');
      }
    }, Math.min(1000, options.caseTimeoutMs / 4));
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'case') {
        current = message.index;
        caseStarted = Date.now();
      } else {
        report = message.report as FuzzReport;
      }
    });
    child.on('exit', (code, signal) => {
      clearInterval(watchdog);
      const crash = report === undefined && hang === undefined ? `fuzz child exited (code ${code}, signal ${signal}) during case ${current}` : undefined;
      resolve({ report, hang, crash });
    });
  });
}
