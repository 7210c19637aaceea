#!/usr/bin/env node
/**
 * `smallmind`: the command line entry point (commands in `cli-program.ts`). Exit status: 0 success (also
 * when stdout is closed early, as `| head` does), 1 a failed command, 2 a bad flag or value.
 */
import { runCli } from './cli-program.js';

// `smallmind inspect big.gguf | head -1`: once the reader is gone nothing more can be said; stop quietly
// and successfully, as other Unix filters do. A closed stderr only loses diagnostics.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.stderr.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await runCli(process.argv);
