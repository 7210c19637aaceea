/**
 * Command-line flags for every generation option, built from `generationOptionTable` so that the CLI, the
 * server and the library share one list and one validation (`validateGenerationOptions`).
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeRange, type OptionSpec } from '@smallmind/runtime';
import { generationOptionTable, validateGenerationOptions, type GenerationOptions } from './generation/options.js';

/** `topK` -> `top-k`. */
export function flagName(optionName: string): string {
  return optionName.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Short forms kept from the first CLI (`-n 32`, `-t 0.7`). */
const SHORT: Readonly<Record<string, string>> = { maxTokens: '-n', temperature: '-t' };

/**
 * Where the CLI's defaults differ from the library's: greedy, so that a command prints the same text on every
 * run (pass `-t 0.8` to sample).
 */
export const CLI_GENERATION_DEFAULTS: Readonly<Record<string, unknown>> = { temperature: 0 };

/** One value checked by the shared table; its message becomes a one-line usage error naming the flag. */
function checked(spec: OptionSpec, value: unknown): unknown {
  try {
    return (validateGenerationOptions({ [spec.name]: value }) as Record<string, unknown>)[spec.name];
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^option [^:]*: /, '') : String(error);
    throw new InvalidArgumentError(`--${flagName(spec.name)}: ${message}`);
  }
}

function parseNumber(spec: OptionSpec, text: string): number {
  const lowered = text.trim().toLowerCase();
  const value = lowered === '' ? Number.NaN : Number(lowered);
  if (Number.isNaN(value)) throw new InvalidArgumentError(`--${flagName(spec.name)}: "${text}" is not a number (${describeRange(spec)})`);
  return checked(spec, value) as number;
}

/** `--logit-bias 15043=-inf` (or `15043:+2.5`): one entry per flag. */
function parseBiasEntry(spec: OptionSpec, text: string, previous: Record<string, number> | undefined): Record<string, number> {
  const match = /^\s*(\d+)\s*[=:]\s*(\S+)\s*$/.exec(text);
  const flag = `--${flagName(spec.name)}`;
  if (match === null) throw new InvalidArgumentError(`${flag}: "${text}" is not TOKEN_ID=BIAS (e.g. 15043=-inf)`);
  const biasText = match[2]!.toLowerCase();
  const bias = biasText === '-inf' || biasText === '-infinity' ? -Infinity : Number(biasText);
  const next = { ...previous, [match[1]!]: bias };
  return checked(spec, next) as Record<string, number>;
}

function describe(spec: OptionSpec): string {
  const range = spec.type === 'boolean' ? '' : ` (${describeRange(spec)})`;
  return `${spec.description}${range}`;
}

function defaultOf(spec: OptionSpec): unknown {
  return spec.name in CLI_GENERATION_DEFAULTS ? CLI_GENERATION_DEFAULTS[spec.name] : spec.default;
}

/** The commander options for one table row (a boolean gets `--x` and `--no-x`). */
function optionsFor(spec: OptionSpec): Option[] {
  const long = `--${flagName(spec.name)}`;
  const short = SHORT[spec.name];
  const flags = (arg: string): string => `${short === undefined ? '' : `${short}, `}${long}${arg}`;
  const fallback = defaultOf(spec);
  const withDefault = (option: Option): Option => {
    if (typeof fallback === 'number') option.default(fallback);
    return option;
  };
  switch (spec.type) {
    case 'number':
    case 'integer':
      return [withDefault(new Option(flags(' <n>'), describe(spec)).argParser((text) => parseNumber(spec, text)))];
    case 'boolean':
      return [new Option(flags(''), describe(spec)), new Option(`--no-${flagName(spec.name)}`, `the opposite of ${long}`)];
    case 'string[]':
      return [
        new Option(flags(' <text>'), `${describe(spec)}; repeat the flag for more`).argParser(
          (text, previous: string[] | undefined) => checked(spec, [...(previous ?? []), text]) as string[],
        ),
      ];
    case 'tokenBias':
      return [
        new Option(flags(' <id=bias>'), `${describe(spec)}; e.g. 15043=-inf, repeat the flag for more`).argParser(
          (text, previous: Record<string, number> | undefined) => parseBiasEntry(spec, text, previous),
        ),
      ];
    case 'jsonSchema':
      return [
        new Option(flags(' <json|@file>'), `${spec.description}: inline JSON or @path`).argParser((text) => {
          const source = text.startsWith('@') ? readText(long, text.slice(1)) : text;
          let schema: unknown;
          try {
            schema = JSON.parse(source);
          } catch (error) {
            throw new InvalidArgumentError(`${long}: not JSON: ${(error as Error).message}`);
          }
          return checked(spec, schema) as object;
        }),
      ];
    case 'grammar':
      return [
        new Option(flags(' <gbnf>'), `${spec.description} (llama.cpp's GBNF)`).argParser((text) => checked(spec, text) as string),
        new Option(`--${flagName(spec.name)}-file <path>`, `${long} read from a file`).argParser((path) => checked(spec, readText(`${long}-file`, path)) as string),
      ];
  }
}

/** A file's text for a flag; a missing or unreadable file is a usage error naming the flag. */
function readText(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Adds a flag for every generation option to `command` (`--tokens` stays as a hidden alias of `--max-tokens`). */
export function addGenerationFlags(command: Command): Command {
  for (const spec of generationOptionTable) for (const option of optionsFor(spec)) command.addOption(option);
  const maxTokens = generationOptionTable.find((spec) => spec.name === 'maxTokens')!;
  command.addOption(new Option('--tokens <n>').hideHelp().argParser((text) => parseNumber(maxTokens, text)));
  return command;
}

/** The generation options among parsed flags (those the user gave, plus the CLI's defaults). */
export function generationOptionsOf(flags: Readonly<Record<string, unknown>>): GenerationOptions {
  const picked: Record<string, unknown> = {};
  for (const spec of generationOptionTable) {
    const value = flags[spec.name];
    if (value !== undefined) picked[spec.name] = value;
  }
  if (flags.tokens !== undefined) picked.maxTokens = flags.tokens;
  if (flags.grammarFile !== undefined) {
    if (picked.grammar !== undefined) throw new InvalidArgumentError('--grammar and --grammar-file: give one of them');
    picked.grammar = flags.grammarFile;
  }
  return validateGenerationOptions(picked);
}
