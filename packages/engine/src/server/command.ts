/**
 * `smallmind serve`: the server as a CLI command (the CLI adds it with `registerServeCommand(program)`), and
 * `serveUntilSignal`, which runs a server until SIGTERM / SIGINT and then shuts it down gracefully.
 */
import { Command, InvalidArgumentError } from 'commander';
import { startServer, type RunningServer, type StartServerOptions } from './server.js';

function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return n;
  };
}

export interface ServeFlags {
  port: number;
  host: string;
  apiKey?: string;
  parallel: number;
  ctxSize?: number;
  maxQueue: number;
  threads?: number;
  cacheDir?: string;
  maxTokens: number;
  bodyLimit: number;
  grace: number;
  logLevel: StartServerOptions['logLevel'];
}

/**
 * Starts the server and keeps it running until SIGTERM or SIGINT: then it stops accepting requests, lets the
 * running ones finish within the grace period (aborting the rest) and resolves. Exit status 0 follows.
 */
export async function serveUntilSignal(options: StartServerOptions, onStarted?: (server: RunningServer) => void): Promise<void> {
  const server = await startServer(options);
  onStarted?.(server);
  server.app.log.info(`listening on ${server.url}`);
  // A model that fails to load is reported by /health (503) and the log; the process keeps serving the rest.
  server.ready.catch(() => {});
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      server.app.log.info(`${signal}: shutting down`);
      void server.close().then(resolve, (error: unknown) => {
        server.app.log.error(`shutdown: ${error instanceof Error ? error.message : String(error)}`);
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** The options `smallmind serve <models...> [flags]` gives `startServer`. */
export function serveOptions(models: readonly string[], flags: ServeFlags): StartServerOptions {
  const apiKey = flags.apiKey ?? process.env.SMALLMIND_API_KEY;
  return {
    models,
    port: flags.port,
    host: flags.host,
    parallel: flags.parallel,
    maxQueue: flags.maxQueue,
    defaultMaxTokens: flags.maxTokens,
    bodyLimit: flags.bodyLimit,
    gracePeriodMs: flags.grace,
    ...(flags.logLevel === undefined ? {} : { logLevel: flags.logLevel }),
    ...(apiKey === undefined || apiKey === '' ? {} : { apiKey }),
    ...(flags.ctxSize === undefined ? {} : { ctxSize: flags.ctxSize }),
    ...(flags.threads === undefined ? {} : { threads: flags.threads }),
    ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
  };
}

/** Adds `serve` to a commander program. */
export function registerServeCommand(program: Command): Command {
  return program
    .command('serve')
    .description('serve models over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health, /metrics)')
    .argument('<models...>', 'model files (.gguf or .smq); clients name them by file name without the extension')
    .option('--port <n>', 'port (0: any free one)', integer('--port', 0, 65535), 8080)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--api-key <key>', 'require this key (Authorization: Bearer <key>) on every endpoint but /health (default $SMALLMIND_API_KEY)')
    .option('--parallel <n>', 'slots (concurrent generations, each with its own KV cache) per model', integer('--parallel', 1, 256), 1)
    .option('--ctx-size <n>', 'tokens of each slot\'s KV cache (default: min(the model\'s, 4096))', integer('--ctx-size', 1))
    .option('--max-queue <n>', 'requests that may wait for a slot before new ones get 429', integer('--max-queue', 0), 64)
    .option('--max-tokens <n>', 'max_tokens when a request gives none', integer('--max-tokens', 0), 512)
    .option('--body-limit <bytes>', 'largest request body (larger: 413)', integer('--body-limit', 1), 1 << 20)
    .option('--grace <ms>', 'on SIGTERM, how long running generations may finish before they are aborted', integer('--grace', 0), 10_000)
    .option('--threads <n>', 'kernel threads per model (default: all cores)', integer('--threads', 1))
    .option('--cache-dir <dir>', 'where imported GGUF files are cached')
    .option(
      '--log-level <level>',
      'request log level: trace, debug, info, warn, error, fatal, silent',
      (v) => {
        if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(v)) throw new InvalidArgumentError('--log-level must be one of trace, debug, info, warn, error, fatal, silent');
        return v;
      },
      'info',
    )
    .action((models: string[], flags: ServeFlags) => serveUntilSignal(serveOptions(models, flags)));
}
