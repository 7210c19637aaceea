#!/usr/bin/env node
/**
 * `smallmind`: inspect, import and run GGUF / SMQ models from the command line.
 *   smallmind inspect <model.gguf|model.smq>
 *   smallmind import <model.gguf> <model.smq> [--overwrite]
 *   smallmind generate <model.gguf|model.smq> <prompt> [-n 64] [--temperature 0] ...
 */
import { Command, InvalidArgumentError } from 'commander';
import { extname } from 'node:path';
import { importGgufToSmq, readGguf } from '@smallmind/io-gguf';
import { SmqReader, type ModelMetadata } from '@smallmind/io-smq';
import { ggmlTypeInfo, isKnownGgmlType } from '@smallmind/quantization-tensors';
import { silentLogger, type Logger } from '@smallmind/runtime';
import { SmallMindEngine } from './engine.js';
import { formatMetadataValue, progressLine } from './format.js';

const stderrLogger: Logger = {
  debug: () => {},
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`WARN ${m}\n`),
  error: (m) => process.stderr.write(`ERROR ${m}\n`),
};

function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}
function number(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}]`);
    return n;
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

async function importCommand(src: string, dst: string, options: { overwrite?: boolean }): Promise<void> {
  const started = performance.now();
  const show = progressLine('', (text) => process.stderr.write(text));
  const result = await importGgufToSmq(src, dst, {
    overwrite: options.overwrite === true,
    onProgress: (p) => show(p.bytesDone, p.bytesTotal, ` ${p.tensorsDone}/${p.tensorsTotal} tensors`),
  });
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`\nimported ${result.tensors} tensors (${result.bytes} bytes) into ${dst} in ${seconds.toFixed(2)} s\n`);
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
  verbose?: boolean;
}

async function generate(model: string, prompt: string, flags: GenerateFlags): Promise<void> {
  const engine = new SmallMindEngine({
    logger: flags.verbose === true ? stderrLogger : { ...silentLogger, warn: stderrLogger.warn, error: stderrLogger.error },
    kernels: flags.kernels,
    ...(flags.threads === undefined ? {} : { threads: flags.threads }),
    ...(flags.cacheDir === undefined ? {} : { cacheDir: flags.cacheDir }),
  });
  try {
    const show = progressLine('importing ', (text) => process.stderr.write(text));
    const info = await engine.loadModel({
      path: model,
      preserveQuantization: flags.preserveQuantization,
      onImportProgress: (p) => show(p.bytesDone, p.bytesTotal),
    });
    if (info.imported) process.stderr.write('\n');
    process.stdout.write(prompt);
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
    process.stderr.write(
      `[${result.promptTokens} prompt tokens in ${result.prefillMs.toFixed(1)} ms, ${result.tokens.length} new tokens, ` +
        `${decodeRate.toFixed(1)} tokens/s decode, finish: ${result.finishReason}, kernels: ${info.kernels}]\n`,
    );
  } finally {
    await engine.dispose();
  }
}

const program = new Command()
  .name('smallmind')
  .description('Local LLM inference in TypeScript + WebAssembly, from GGUF files')
  .showHelpAfterError();

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
  .action(importCommand);

program
  .command('generate')
  .description('continue a prompt with a .gguf or .smq model')
  .argument('<model>', 'model file (.gguf is imported once into the cache)')
  .argument('<prompt>', 'text to continue')
  .option('-n, --tokens <n>', 'most new tokens', integer('--tokens', 0), 64)
  .option('-t, --temperature <t>', '0 = greedy', number('--temperature', 0, 100), 0)
  .option('--top-k <k>', '0 = off', integer('--top-k', 0), 0)
  .option('--top-p <p>', '1 = off', number('--top-p', Number.MIN_VALUE, 1), 1)
  .option('--seed <seed>', 'random seed for sampling', integer('--seed', 0))
  .option('--threads <n>', 'kernel threads (default: all cores)', integer('--threads', 1))
  .option('--no-preserve-quantization', 'dequantize every weight to F32 (more memory, slower)')
  .option('--kernels <kind>', 'wasm or reference', (v) => {
    if (v !== 'wasm' && v !== 'reference') throw new InvalidArgumentError('--kernels must be wasm or reference');
    return v;
  }, 'wasm')
  .option('--cache-dir <dir>', 'where imported GGUF files are cached')
  .option('-v, --verbose', 'log loading details to stderr')
  .action(generate);

program.parseAsync(process.argv).catch((error: unknown) => {
  const err = error instanceof Error ? error : new Error(String(error));
  const code = (err as { code?: unknown }).code;
  const tag = typeof code === 'string' && !err.message.startsWith(code) ? ` [${code}]` : '';
  process.stderr.write(`\nsmallmind: ${err.name}${tag}: ${err.message}\n`);
  process.exitCode = 1;
});
