/**
 * The `smallmind` command line (its entry point, `cli.ts`, wires it to the process).
 *   smallmind run [model] <prompt>        continue a prompt (the bundled stories260K when no model is given)
 *   smallmind complete <model> [prompt]   the same for scripts (prompt from stdin when omitted; --json)
 *   smallmind chat <model>                interactive chat, or one turn per stdin line from a pipe
 *   smallmind template <model> --messages m.json   the prompt the chat template renders
 *   smallmind tokenize <model> [text]     token ids and pieces
 *   smallmind embed <model> [texts...]  embedding vectors as JSON
 *   smallmind inspect | import | bench | cache list|clear|prune
 * Exit status: 0 success (also when stdout is closed early, as `| head` does), 1 a failed command,
 * 2 a bad flag or value.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { importGgufToSmq } from '@smallmind/io-gguf';
import { ggmlTypeInfo, isKnownGgmlType } from '@smallmind/quantization-tensors';
import { createTokenizer, supportedArchitectures } from '@smallmind/runtime';
import { benchCommand, type BenchFlags } from './cli-bench.js';
import { chatCommand, type ChatFlags } from './cli-chat.js';
import { registerEmbedCommand } from './cli-embed.js';
import { addGenerationFlags, generationOptionsOf } from './cli-options.js';
import { addEngineFlags, bundledModelPath, integer, loadEngine, Output, printJson, readStdin, withModelFile, type EngineFlags, type GlobalFlags } from './cli-shared.js';
import { parseTemplateFlag, readMessagesFile, renderTemplateOfFile } from './cli-template.js';
import { formatBytes, formatMetadataValue, parseByteSize } from './format.js';
import { clearCache, defaultCacheDir, listCache, pruneCache, type PruneResult } from './model-cache.js';
import { registerServeCommand } from './server/index.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function readVersion(): string {
  // src/cli.ts and dist/cli.js both sit one level below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

function byteSize(name: string) {
  return (value: string): number => {
    const bytes = parseByteSize(value);
    if (bytes === undefined) throw new InvalidArgumentError(`${name} must be a size such as 20GB, 512MiB or a byte count`);
    return bytes;
  };
}

async function inspect(path: string, options: { all?: boolean }): Promise<void> {
  await withModelFile(path, (file) => {
    const { metadata, tensors } = file;
    const bytes = tensors.reduce((sum, t) => sum + t.byteLength, 0);
    process.stdout.write(`${path}: ${file.format} v${file.version}, ${metadata.size} metadata keys, ${tensors.length} tensors, ${formatBytes(bytes)} of weights\n`);
    const architecture = metadata.has('general.architecture') ? metadata.getString('general.architecture') : undefined;
    const supported = supportedArchitectures();
    const verdict = architecture !== undefined && supported.includes(architecture) ? 'supported' : `not supported (supported: ${supported.join(', ')})`;
    process.stdout.write(`architecture: ${architecture ?? '(none)'}, ${verdict}\n\n`);
    for (const [key, value] of metadata.entries) process.stdout.write(`  ${key} = ${formatMetadataValue(value, options.all === true)}\n`);
    process.stdout.write('\n');
    const typeName = (type: number): string => (isKnownGgmlType(type) ? ggmlTypeInfo(type).name : `type ${type}`);
    const counts = new Map<string, number>();
    for (const t of tensors) counts.set(typeName(t.type), (counts.get(typeName(t.type)) ?? 0) + 1);
    process.stdout.write(`types: ${[...counts].map(([name, n]) => `${name} x${n}`).join(', ')}\n\n`);
    const width = Math.max(4, ...tensors.map((t) => t.name.length));
    process.stdout.write(`  ${'name'.padEnd(width)}  ${'type'.padEnd(8)}  ${'shape (ne)'.padEnd(20)}  bytes\n`);
    for (const t of tensors) {
      process.stdout.write(`  ${t.name.padEnd(width)}  ${typeName(t.type).padEnd(8)}  ${`[${t.shape.join(', ')}]`.padEnd(20)}  ${t.byteLength}\n`);
    }
  });
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

interface CompleteFlags extends EngineFlags {
  json?: boolean;
  [option: string]: unknown;
}

/** run / complete / generate: the continuation streams to stdout (never the prompt), or one JSON object. */
async function complete(out: Output, model: string, prompt: string, flags: CompleteFlags): Promise<void> {
  const generation = generationOptionsOf(flags);
  const { engine, info } = await loadEngine(out, model, flags);
  try {
    const session = await engine.createSession();
    const run = session.stream(prompt, generation);
    for await (const chunk of run) if (flags.json !== true) process.stdout.write(chunk.text);
    const result = await run.result;
    if (flags.json === true) {
      printJson({ text: result.text, tokens: result.tokens, finishReason: result.finishReason, ...(result.stop === undefined ? {} : { stop: result.stop }), timings: result.timings });
      return;
    }
    process.stdout.write('\n');
    const t = result.timings;
    out.note(
      `[${t.promptTokens} prompt tokens in ${t.promptMs.toFixed(1)} ms, ${t.generatedTokens} new tokens, ` +
        `${t.tokensPerSecond.toFixed(1)} tokens/s decode, finish: ${result.finishReason}, kernels: ${info.kernels}]`,
    );
  } finally {
    await engine.dispose();
  }
}

async function tokenize(model: string, text: string, flags: { json?: boolean; addBos?: boolean; parseSpecial?: boolean }): Promise<void> {
  const tokenizer = await withModelFile(model, ({ metadata }) => createTokenizer(metadata));
  const ids = tokenizer.encode(text, { parseSpecial: flags.parseSpecial === true, ...(flags.addBos === undefined ? {} : { addBos: flags.addBos }) });
  const tokens = ids.map((id) => ({ id, piece: tokenizer.tokenToPiece(id) }));
  if (flags.json === true) {
    printJson({ count: tokens.length, tokens });
    return;
  }
  for (const { id, piece } of tokens) process.stdout.write(`${String(id).padStart(7)} ${JSON.stringify(piece)}\n`);
  process.stdout.write(`${tokens.length} token${tokens.length === 1 ? '' : 's'}\n`);
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

  const completion = (command: Command): Command =>
    addEngineFlags(addGenerationFlags(command)).option('--json', 'print one JSON object (text, tokens, finishReason, timings) instead of streaming text');

  completion(
    program
      .command('run')
      .description('continue a prompt, streaming the continuation to stdout (the bundled stories260K model when no model is given)')
      .argument('[model]', 'model file (.gguf is imported once into the cache)')
      .argument('[prompt]', 'text to continue'),
  ).action((first: string | undefined, second: string | undefined, flags: CompleteFlags) => {
    if (first === undefined) throw new CommanderError(EXIT_USAGE, 'commander.missingArgument', "error: missing required argument 'prompt'");
    // One argument is the prompt: `smallmind run "Once upon a time"` uses the bundled model.
    return second === undefined ? complete(out(), bundledModelPath(), first, flags) : complete(out(), first, second, flags);
  });

  completion(
    program
      .command('generate')
      .description('the same as run, with the model required (kept for scripts)')
      .argument('<model>', 'model file (.gguf is imported once into the cache)')
      .argument('<prompt>', 'text to continue'),
  ).action((model: string, prompt: string, flags: CompleteFlags) => complete(out(), model, prompt, flags));

  completion(
    program
      .command('complete')
      .description('complete a prompt (read from stdin when not given); --json for scripts')
      .argument('<model>', 'model file')
      .argument('[prompt]', 'text to continue (default: all of stdin)'),
  ).action(async (model: string, prompt: string | undefined, flags: CompleteFlags) => complete(out(), model, prompt ?? (await readStdin('prompt')), flags));

  addEngineFlags(
    addGenerationFlags(
      program
        .command('chat')
        .description("chat with the model's template: interactive on a terminal, one turn per stdin line from a pipe")
        .argument('<model>', 'model file')
        .option('--system <text>', 'a system message first in the conversation')
        .option('--template <name|file>', 'chatml, plain or a Jinja template file instead of the model\'s template', parseTemplateFlag)
        .option('--json', 'print one JSON line per answer: {role, content, finishReason, timings}'),
    ),
  ).action((model: string, flags: ChatFlags & Record<string, unknown>) => chatCommand(out(), model, flags, generationOptionsOf(flags)));

  program
    .command('template')
    .description('print exactly the prompt the chat template renders for a messages file (reads no weights)')
    .argument('<model>', 'model file (a vocab-only GGUF is enough)')
    .requiredOption('--messages <file.json>', 'an OpenAI-style messages array, or {"messages": [...], "tools": [...]}')
    .option('--no-generation-prompt', 'do not end with the header of an assistant turn')
    .option('--template <name|file>', 'chatml, plain or a Jinja template file instead of the model\'s template', parseTemplateFlag)
    .action(async (model: string, flags: { messages: string; generationPrompt: boolean; template?: string }) => {
      const text = await renderTemplateOfFile(model, readMessagesFile(flags.messages), {
        addGenerationPrompt: flags.generationPrompt,
        ...(flags.template === undefined ? {} : { template: flags.template }),
      });
      process.stdout.write(text);
    });

  program
    .command('tokenize')
    .description("token ids and pieces of a text with the model's tokenizer (reads no weights)")
    .argument('<model>', 'model file')
    .argument('[text]', 'text to tokenize (default: all of stdin)')
    .option('--add-bos', 'prepend BOS (default: the tokenizer\'s metadata)')
    .option('--no-add-bos', 'never prepend BOS')
    .option('--parse-special', 'read control-token text such as <|im_start|> as the control token')
    .option('--json', 'print {count, tokens: [{id, piece}]}')
    .action(async (model: string, text: string | undefined, flags: { json?: boolean; addBos?: boolean; parseSpecial?: boolean }) =>
      tokenize(model, text ?? (await readStdin('text')), flags),
    );

  addEngineFlags(
    program
      .command('bench')
      .description('prompt processing (ppN) and generation (tgN) speed in tokens/s, as llama-bench measures them')
      .argument('<model>', 'model file')
      .option('-p, --n-prompt <n>', 'prompt tokens of the pp test (0 = skip)', integer('--n-prompt', 0), 128)
      .option('-n, --n-gen <n>', 'generated tokens of the tg test (0 = skip)', integer('--n-gen', 0), 64)
      .option('-r, --repetitions <n>', 'runs of each test', integer('--repetitions', 1), 5)
      .option('--no-warmup', 'skip the warm-up run')
      .option('--json', 'print one JSON object with every sample'),
  ).action((model: string, flags: BenchFlags) => benchCommand(out(), model, flags));

  registerEmbedCommand(program, out);

  // ---- HTTP server: `smallmind serve` is registered here (packages/engine/src/server/**) ----
  registerServeCommand(program);
  // ----

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
