/**
 * `node --import tsx src/server/serve-main.ts serve <model> [flags]` (from packages/engine): the `serve` command on its own, as the CLI runs it
 * (used by the SIGTERM test; the lead wires `registerServeCommand` into the real CLI). Prints the bound URL
 * as the first stdout line once listening.
 */
import { Command } from 'commander';
import { registerServeCommand, serveOptions, serveUntilSignal, type ServeFlags } from './command.js';

const program = new Command().name('smallmind').exitOverride();
registerServeCommand(program).action((models: string[], flags: ServeFlags) =>
  serveUntilSignal(serveOptions(models, flags), (server) => process.stdout.write(`${server.url}\n`)),
);
await program.parseAsync(process.argv);
process.exitCode = 0;
