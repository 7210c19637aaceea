/**
 * The `smallmind` command line (its entry point, `cli.ts`, wires it to the process). `smallmind`: inspect, import and run GGUF / SMQ models from the command line.
 *   smallmind inspect <model.gguf|model.smq>
 *   smallmind import <model.gguf> <model.smq> [--overwrite]
 *   smallmind generate <model.gguf|model.smq> <prompt> [-n 64] [--temperature 0] ...
 *   smallmind cache list | clear | prune [--max-size 20GB]
 * Exit status: 0 success (also when stdout is closed early, as `| head` does), 1 a failed command,
 * 2 a bad flag or value.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { importGgufToSmq, readGguf } from '@smallmind/io-gguf';
import { SmqReader, type ModelMetadata } from '@smallmind/io-smq';
import { ggmlTypeInfo, isKnownGgmlType } from '@smallmind/quantization-tensors';
import { createConsoleLogger, type Logger } from '@smallmind/runtime';
import { SmallMindEngine } from './engine.js';
import { createProgress, formatBytes, formatMetadataValue, parseByteSize, type Progress } from './format.js';
import { clearCache, defaultCacheDir, listCache, pruneCache, type PruneResult } from './model-cache.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function readVersion(): string {
  // src/cli.ts and dist/cli.js both sit one level below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

interface GlobalFlags {
  quiet?: boolean;
  verbose?: boolean;
}

/** What every command shares: where messages go and how chatty they are. */
class Output {
  readonly logger: Logger;
  constructor(readonly flags: GlobalFlags) {
    const level = flags.verbose === true ? 'debug' : flags.quiet === true ? 'error' : 'warn';
    this.logger = createConsoleLogger({ level, write: (line) => process.stderr.write(`${line}\n`) });
  }
  /** A status line for stderr (suppressed by --quiet). */
  note(text: string): void {
    if (this.flags.quiet !== true) process.stderr.write(`${text}\n`);
  }
  progress(label: string): Progress {
    if (this.flags.quiet === true) return { update: () => {}, finish: () => {} };
    return createProgress({
      label,
      write: (text) => process.stderr.write(text),
      tty: process.stderr.isTTY === true,
      ...(process.stderr.columns === undefined ? {} : { columns: process.stderr.columns }),
    });
  }
}

function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}
function number(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}]`);
    return n;
  };
}
function byteSize(name: string) {
  return (value: string): number => {
    const bytes = parseByteSize(value);
    if (bytes === undefined) throw new InvalidArgumentError(`${name} must be a size such as 20GB, 512MiB or a byte count`);
    return bytes;
  };
}

async function inspect(path: string, options: { all?: boolean }): Promise<void> {
  const isSmq = extname(path).toLowerCase() === '.smq';
  const file = isSmq ? await SmqReader.open(path) : await readGguf(path);
  try {
    const metadata: ModelMetadata = file.metadata;
    process.stdout.write(`${path}: ${isSmq ? 'SMQ' : 'GGUF'} v${file.version}, ${metadata.size} metadata keys, ${file.tensors.length} tensors\n\n`);
    for (const [key, value] of metadata.entries) process.stdout.write(`  ${key} = ${formatMetadataValue(value, options.all === true)}\n`);
    process.stdout.write('\n');
    const width = Math.max(4, ...file.tensors.map((t) => t.name.length));
    process.stdout.write(`  ${'name'.padEnd(width)}  ${'type'.padEnd(8)}  ${'shape (ne)'.padEnd(20)}  bytes\n`);
    for (const t of file.tensors) {
      const type = isKnownGgmlType(t.type) ? ggmlTypeInfo(t.type).name : `type ${t.type}`;
      process.stdout.write(`  ${t.name.padEnd(width)}  ${type.padEnd(8)}  ${`[${t.shape.join(', ')}]`.padEnd(20)}  ${t.byteLength}\n`);
    }
  } finally {
    await file.close();
  }
}

async function importCommand(out: Output, src: string, dst: string, options: { overwrite?: boolean }): Promise<void> {
  const started = performance.now();
  const progress = out.progress(`importing ${basename(src)}`);
  const result = await importGgufToSmq(src, dst, {
    overwrite: options.overwrite === true,
    onProgress: (p) => progress.update(p.bytesDone, p.bytesTotal, ` ${p.tensorsDone}/${p.tensorsTotal} tensors`),
  }).finally(() => progress.finish());
  const seconds = (performance.now() - started) / 1000;
  out.note(`imported ${result.tensors} tensors (${result.bytes} bytes) into ${dst} in ${seconds.toFixed(2)} s`);
}

interface GenerateFlags {
  tokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed?: number;
  threads?: number;
  preserveQuantization: boolean;
  kernels: 'wasm' | 'reference';
  cacheDir?: string;
}

async function generate(out: Output, model: string, prompt: string, flags: GenerateFlags): Promise<void> {
  const engine = new SmallMindEngine({
    logger: out.logger,
    kernels: flags.kernels,
    ...(flags.threads === undefined ? {} : { threads: flags.threads }),
    ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
  });
  try {
    const importing = out.progress(`importing ${basename(model)}`);
    const loading = out.progress(`loading ${basename(model)}`);
    const info = await engine
      .loadModel({
        path: model,
        preserveQuantization: flags.preserveQuantization,
        onImportProgress: (p) => importing.update(p.bytesDone, p.bytesTotal),
        onLoadProgress: (p) => {
          importing.finish();
          loading.update(p.bytesDone, p.bytesTotal, ` ${p.tensorsDone}/${p.tensorsTotal} tensors`);
        },
      })
      .finally(() => {
        importing.finish();
        loading.finish();
      });
    // The prompt is never echoed: stdout carries only the continuation (a long prompt would bury it).
    const result = await engine.generate(prompt, {
      maxTokens: flags.tokens,
      temperature: flags.temperature,
      topK: flags.topK,
      topP: flags.topP,
      ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      onText: (text) => process.stdout.write(text),
    });
    process.stdout.write('\n');
    const decodeRate = result.tokens.length > 1 ? ((result.tokens.length - 1) / result.decodeMs) * 1000 : 0;
    out.note(
      `[${result.promptTokens} prompt tokens in ${result.prefillMs.toFixed(1)} ms, ${result.tokens.length} new tokens, ` +
        `${decodeRate.toFixed(1)} tokens/s decode, finish: ${result.finishReason}, kernels: ${info.kernels}]`,
    );
  } finally {
    await engine.dispose();
  }
}

function cacheDirOf(flags: { cacheDir?: string }): string {
  return flags.cacheDir ?? defaultCacheDir();
}

async function cacheList(flags: { cacheDir?: string }): Promise<void> {
  const dir = cacheDirOf(flags);
  const entries = await listCache(dir);
  let total = 0;
  for (const entry of entries) {
    total += entry.bytes;
    const used = new Date(entry.lastUsedMs).toISOString().slice(0, 16).replace('T', ' ');
    const source = entry.source?.path ?? '(source not recorded)';
    process.stdout.write(`${formatBytes(entry.bytes).padStart(9)}  ${used}  ${entry.status.padEnd(8)}  ${source}  ${basename(entry.smqPath)}\n`);
  }
  process.stdout.write(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, ${formatBytes(total)} in ${dir}\n`);
}

function reportRemoval(dir: string, result: PruneResult): void {
  for (const entry of result.removed) process.stdout.write(`removed ${basename(entry.smqPath)} (${formatBytes(entry.bytes)}, ${entry.status}, ${entry.source?.path ?? 'source not recorded'})\n`);
  const temps = result.tempFiles.length === 0 ? '' : `, ${result.tempFiles.length} leftover file${result.tempFiles.length === 1 ? '' : 's'} of interrupted imports`;
  process.stdout.write(`removed ${result.removed.length} entr${result.removed.length === 1 ? 'y' : 'ies'}${temps}; ${formatBytes(result.bytesKept)} kept in ${dir}\n`);
}

async function cacheClear(flags: { cacheDir?: string }): Promise<void> {
  const dir = cacheDirOf(flags);
  reportRemoval(dir, await clearCache(dir));
}

async function cachePrune(flags: { cacheDir?: string; maxSize?: number }): Promise<void> {
  const dir = cacheDirOf(flags);
  reportRemoval(dir, await pruneCache(dir, flags.maxSize === undefined ? {} : { maxBytes: flags.maxSize }));
}

/** One line per error: name, code, message; the stack (and cause) only with --verbose. */
function reportError(error: unknown, verbose: boolean): void {
  const err = error instanceof Error ? error : new Error(String(error));
  const code = (err as { code?: unknown }).code;
  const tag = typeof code === 'string' && !err.message.startsWith(code) ? ` [${code}]` : '';
  process.stderr.write(`smallmind: ${err.name}${tag}: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
  if (verbose) {
    if (err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
    if (err.cause !== undefined) process.stderr.write(`caused by: ${err.cause instanceof Error ? (err.cause.stack ?? err.cause.message) : String(err.cause)}\n`);
  }
}

function buildProgram(): Command {
  const program = new Command()
    .name('smallmind')
    .description('Local LLM inference in TypeScript + WebAssembly, from GGUF files')
    .version(readVersion(), '-V, --version', 'print the version and exit')
    .option('-q, --quiet', 'print only results and errors (no progress, timings or warnings)')
    .option('-v, --verbose', 'log loading details (DEBUG included) and print error stacks')
    // Parse errors are reported by main() as one line with exit status 2, not by commander.
    .exitOverride()
    .configureOutput({ outputError: () => {} });
  const out = (): Output => new Output(program.opts<GlobalFlags>());

  program
    .command('inspect')
    .description('print the metadata and tensor table of a .gguf or .smq file')
    .argument('<file>', 'model file')
    .option('--all', 'print arrays in full instead of their first elements')
    .action(inspect);

  program
    .command('import')
    .description('convert a GGUF file to SMQ, keeping every tensor exactly as stored')
    .argument('<src>', 'source .gguf')
    .argument('<dst>', 'destination .smq')
    .option('--overwrite', 'replace an existing destination')
    .action((src: string, dst: string, options: { overwrite?: boolean }) => importCommand(out(), src, dst, options));

  program
    .command('generate')
    .description('continue a prompt with a .gguf or .smq model (the continuation goes to stdout)')
    .argument('<model>', 'model file (.gguf is imported once into the cache)')
    .argument('<prompt>', 'text to continue')
    .option('-n, --tokens <n>', 'most new tokens', integer('--tokens', 0), 64)
    .option('-t, --temperature <t>', '0 = greedy', number('--temperature', 0, 100), 0)
    .option('--top-k <k>', '0 = off', integer('--top-k', 0), 0)
    .option('--top-p <p>', '1 = off', number('--top-p', Number.MIN_VALUE, 1), 1)
    .option('--seed <seed>', 'random seed for sampling', integer('--seed', 0))
    .option('--threads <n>', 'kernel threads (default: all cores)', integer('--threads', 1))
    .option('--no-preserve-quantization', 'dequantize every weight to F32 (more memory, slower)')
    .option(
      '--kernels <kind>',
      'wasm or reference',
      (v) => {
        if (v !== 'wasm' && v !== 'reference') throw new InvalidArgumentError('--kernels must be wasm or reference');
        return v;
      },
      'wasm',
    )
    .option('--cache-dir <dir>', 'where imported GGUF files are cached')
    .action((model: string, prompt: string, flags: GenerateFlags) => generate(out(), model, prompt, flags));

  const cache = program.command('cache').description('list, clear or prune the cache of imported GGUF files');
  const cacheDirOption = ['--cache-dir <dir>', 'the cache directory (default $SMALLMIND_CACHE_DIR or ~/.cache/smallmind)'] as const;
  cache.command('list').description('list entries: size, last use, status, source GGUF').option(...cacheDirOption).action(cacheList);
  cache.command('clear').description('remove every entry').option(...cacheDirOption).action(cacheClear);
  cache
    .command('prune')
    .description('remove entries whose GGUF is gone or changed, and leftovers of interrupted imports')
    .option('--max-size <size>', 'then evict least recently used entries beyond this size (20GB, 512MiB, bytes)', byteSize('--max-size'))
    .option(...cacheDirOption)
    .action(cachePrune);
  return program;
}

/** Runs the CLI on `argv` (as `process.argv`: node, script, arguments...) and returns its exit status. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end parsing with exit code 0; everything else is a usage error.
      if (error.exitCode === 0) return 0;
      // No command given: the help already went to stderr.
      if (error.code === 'commander.help') return EXIT_USAGE;
      const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
      const code = error.code.replace(/^commander\./, '').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
      process.stderr.write(`smallmind: UsageError [${code}]: ${message} (see smallmind --help)\n`);
      return EXIT_USAGE;
    }
    reportError(error, program.opts<GlobalFlags>().verbose === true);
    return EXIT_FAILURE;
  }
}
