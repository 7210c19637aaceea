/** What the CLI's commands share: output, errors, model files, the engine flags and loading a model. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readGguf } from '@smallmind/io-gguf';
import { SmqReader, type ModelMetadata } from '@smallmind/io-smq';
import { SmallMindError } from '@smallmind/quantization-tensors';
import { createConsoleLogger, type Logger } from '@smallmind/runtime';
import { SmallMindEngine, type ModelInfo } from './engine.js';
import { createProgress, type Progress } from './format.js';

export type CliErrorCode = 'BUNDLED_MODEL_MISSING' | 'NO_INPUT' | 'BAD_MESSAGES_FILE' | 'CONTEXT_TOO_SMALL';

/** A command that cannot run as asked (exit status 1), e.g. no prompt on stdin. */
export class CliError extends SmallMindError<CliErrorCode> {
  override readonly name = 'CliError';
}

export interface GlobalFlags {
  quiet?: boolean;
  verbose?: boolean;
}

/** Where messages go and how chatty they are. */
export class Output {
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

export function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

export interface TensorSummary {
  readonly name: string;
  readonly type: number;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/** The header of a .gguf or .smq file: metadata and tensor table, without reading any weights. */
export interface ModelFile {
  readonly format: 'GGUF' | 'SMQ';
  readonly version: number;
  readonly metadata: ModelMetadata;
  readonly tensors: readonly TensorSummary[];
  close(): Promise<void>;
}

export async function openModelFile(path: string): Promise<ModelFile> {
  if (extname(path).toLowerCase() === '.smq') {
    const smq = await SmqReader.open(path);
    return { format: 'SMQ', version: smq.version, metadata: smq.metadata, tensors: smq.tensors, close: () => smq.close() };
  }
  const gguf = await readGguf(path);
  return { format: 'GGUF', version: gguf.version, metadata: gguf.metadata, tensors: gguf.tensors, close: () => gguf.close() };
}

/** Runs `use` on the file's header and closes it. */
export async function withModelFile<T>(path: string, use: (file: ModelFile) => T | Promise<T>): Promise<T> {
  const file = await openModelFile(path);
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

/**
 * The model `smallmind run` uses when none is given: the repository's fixtures/stories260K (260K parameters,
 * 1.2 MB), so the first command of the README works with nothing downloaded. src/ and dist/ both sit at
 * packages/engine/<dir>/, three levels below the repository root.
 */
export function bundledModelPath(): string {
  const path = fileURLToPath(new URL('../../../fixtures/stories260K/stories260K-F32.gguf', import.meta.url));
  if (!existsSync(path)) {
    throw new CliError(
      'BUNDLED_MODEL_MISSING',
      `no model given, and the bundled stories260K model (${path}) is not here: it ships with the SmallMind repository, not the npm package; pass a model file: smallmind run model.gguf "prompt"`,
    );
  }
  return path;
}

/** All of stdin as text (for a prompt or text piped in); a terminal is not read. */
export async function readStdin(what: string): Promise<string> {
  if (process.stdin.isTTY === true) throw new CliError('NO_INPUT', `no ${what} given: pass it as an argument or pipe it to stdin`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface EngineFlags {
  threads?: number;
  kernels: 'wasm' | 'reference';
  cacheDir?: string;
  preserveQuantization: boolean;
  context?: number;
}

/** Flags of the commands that load a model. */
export function addEngineFlags(command: Command): Command {
  return command
    .option('--threads <n>', 'kernel threads (default: all cores)', integer('--threads', 1))
    .option('-c, --context <n>', 'context window in tokens (default: the model\'s, at most 4096)', integer('--context', 1))
    .option('--no-preserve-quantization', 'dequantize every weight to F32 (more memory, slower)')
    .addOption(new Option('--kernels <kind>', 'compute kernels').choices(['wasm', 'reference']).default('wasm'))
    .option('--cache-dir <dir>', 'where imported GGUF files are cached (default $SMALLMIND_CACHE_DIR or ~/.cache/smallmind)');
}

/** An engine with `model` loaded, showing import and load progress on stderr. Dispose it when done. */
export async function loadEngine(out: Output, model: string, flags: EngineFlags): Promise<{ engine: SmallMindEngine; info: ModelInfo }> {
  const engine = new SmallMindEngine({
    logger: out.logger,
    kernels: flags.kernels,
    ...(flags.threads === undefined ? {} : { threads: flags.threads }),
    ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
  });
  const importing = out.progress(`importing ${basename(model)}`);
  const loading = out.progress(`loading ${basename(model)}`);
  try {
    const info = await engine
      .loadModel({
        path: model,
        preserveQuantization: flags.preserveQuantization,
        ...(flags.context === undefined ? {} : { contextLength: flags.context }),
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
    return { engine, info };
  } catch (error) {
    await engine.dispose();
    throw error;
  }
}

/** Writes one JSON value as a line (for scripts: `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
