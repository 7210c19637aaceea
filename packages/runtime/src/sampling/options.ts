import { InvalidInputError } from '../errors.js';
import { jsonSchemaToGbnf } from '../grammar/json-schema.js';
import { compileGrammar, GRAMMAR_LIMITS } from '../grammar/parser.js';

/**
 * How a value of one option is checked. `tokenBias` is an object mapping token ids to finite biases (or
 * -Infinity); `grammar` is GBNF text that must compile; `jsonSchema` a JSON schema `jsonSchemaToGbnf` converts.
 */
export type OptionType = 'number' | 'integer' | 'boolean' | 'string[]' | 'tokenBias' | 'grammar' | 'jsonSchema';

/** One row of an option table: enough for a CLI to build its flags and for `validateOptions` to check a value. */
export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
  /** Inclusive bounds unless the matching `*Exclusive` flag is set; numbers must be finite unless `allowNegativeInfinity`. */
  readonly min?: number;
  readonly max?: number;
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
  /** `string[]`: most entries and longest entry (in UTF-16 units), so no untrusted list is unbounded. */
  readonly maxItems?: number;
  readonly maxLength?: number;
  /** The value used when the option is absent (`undefined`: see the description, e.g. a random seed). */
  readonly default: number | boolean | string | readonly string[] | Readonly<Record<number, number>> | undefined;
  readonly description: string;
}

/** The range of a spec as people write it: `[0, 1]`, `(0, 1]`, `>= 0`, `any`. */
export function describeRange(spec: OptionSpec): string {
  if (spec.type === 'string[]') return `up to ${spec.maxItems ?? 'any number of'} non-empty strings${spec.maxLength === undefined ? '' : ` of at most ${spec.maxLength} characters`}`;
  if (spec.type === 'tokenBias') return 'token id -> finite number or -Infinity';
  if (spec.type === 'jsonSchema') return 'a JSON schema object (the supported subset: jsonSchemaToGbnf)';
  if (spec.type === 'grammar') return `GBNF text, start rule root, at most ${GRAMMAR_LIMITS.maxTextLength} characters`;
  if (spec.type === 'boolean') return 'true | false';
  const { min, max } = spec;
  if (min !== undefined && max !== undefined) return `${spec.minExclusive === true ? '(' : '['}${min}, ${max}${spec.maxExclusive === true ? ')' : ']'}`;
  if (min !== undefined) return `${spec.minExclusive === true ? '>' : '>='} ${min}`;
  if (max !== undefined) return `${spec.maxExclusive === true ? '<' : '<='} ${max}`;
  return 'any finite';
}

function invalid(field: string, message: string): InvalidInputError {
  return new InvalidInputError('INVALID_OPTION', field, `option ${field}: ${message}`);
}

function checkNumber(spec: OptionSpec, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) throw invalid(spec.name, `expected a number, got ${String(value)}`);
  if (!Number.isFinite(value)) throw invalid(spec.name, `${value} is not finite`);
  if (spec.type === 'integer' && !Number.isSafeInteger(value)) throw invalid(spec.name, `${value} is not an integer`);
  const { min, max } = spec;
  const belowMin = min !== undefined && (spec.minExclusive === true ? value <= min : value < min);
  const aboveMax = max !== undefined && (spec.maxExclusive === true ? value >= max : value > max);
  if (belowMin || aboveMax) throw invalid(spec.name, `${value} is outside ${describeRange(spec)}`);
  return value;
}

function checkStrings(spec: OptionSpec, value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw invalid(spec.name, 'expected an array of strings');
  if (spec.maxItems !== undefined && value.length > spec.maxItems) throw invalid(spec.name, `${value.length} entries, at most ${spec.maxItems} allowed`);
  value.forEach((item: unknown, i) => {
    const field = `${spec.name}[${i}]`;
    if (typeof item !== 'string' || item.length === 0) throw invalid(field, 'expected a non-empty string');
    if (spec.maxLength !== undefined && item.length > spec.maxLength) throw invalid(field, `${item.length} characters, at most ${spec.maxLength} allowed`);
  });
  return value as readonly string[];
}

function checkTokenBias(spec: OptionSpec, value: unknown): Readonly<Record<number, number>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(spec.name, 'expected an object mapping token ids to biases');
  const result: Record<number, number> = {};
  for (const [key, bias] of Object.entries(value)) {
    const field = `${spec.name}[${key}]`;
    if (!/^(0|[1-9][0-9]{0,9})$/.test(key) || Number(key) > 0xffffffff) throw invalid(field, `"${key}" is not a token id (a non-negative integer)`);
    if (typeof bias !== 'number' || Number.isNaN(bias) || bias === Infinity) throw invalid(field, `bias ${String(bias)} must be a finite number or -Infinity`);
    result[Number(key)] = bias;
  }
  return result;
}

function checkGrammar(spec: OptionSpec, value: unknown): string {
  if (typeof value !== 'string') throw invalid(spec.name, `expected GBNF grammar text, got ${typeof value}`);
  try {
    compileGrammar(value);
  } catch (error) {
    throw new InvalidInputError('INVALID_OPTION', spec.name, `option ${spec.name}: ${(error as Error).message}`, { cause: error });
  }
  return value;
}

function checkJsonSchema(spec: OptionSpec, value: unknown): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(spec.name, 'expected a JSON schema object');
  try {
    compileGrammar(jsonSchemaToGbnf(value));
  } catch (error) {
    throw new InvalidInputError('INVALID_OPTION', spec.name, `option ${spec.name}: ${(error as Error).message}`, { cause: error });
  }
  return value;
}

function checkValue(spec: OptionSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'number':
    case 'integer':
      return checkNumber(spec, value);
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(spec.name, `expected true or false, got ${String(value)}`);
      return value;
    case 'string[]':
      return checkStrings(spec, value);
    case 'tokenBias':
      return checkTokenBias(spec, value);
    case 'grammar':
      return checkGrammar(spec, value);
    case 'jsonSchema':
      return checkJsonSchema(spec, value);
  }
}

/**
 * Checks `input` against an option table: each present field (an `undefined` one counts as absent) must
 * satisfy its row; with `rejectUnknown` (default) a field that is in no row is an error too. Returns a copy
 * holding only the table's fields.
 * @throws InvalidInputError (code `INVALID_OPTION`, `field` = the option, e.g. `topP` or `logitBias[7]`).
 */
export function validateOptions(table: readonly OptionSpec[], input: unknown, rejectUnknown = true): Record<string, unknown> {
  if (input === undefined) return {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('options', 'expected an object');
  const byName = new Map(table.map((spec) => [spec.name, spec]));
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(input)) {
    const spec = byName.get(name);
    if (spec === undefined) {
      if (rejectUnknown) throw invalid(name, `unknown option (known: ${table.map((s) => s.name).join(', ')})`);
      continue;
    }
    if (value !== undefined) result[name] = checkValue(spec, value);
  }
  return result;
}

export interface SamplingOptions {
  /** Divides the logits before the draw; 0 = greedy (argmax, ties to the lowest id). Default 1. */
  readonly temperature?: number;
  /** Keep only the k most likely tokens; 0 = off (default). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 = off (default). */
  readonly topP?: number;
  /** Drop tokens whose probability is below minP times the best one's; 0 = off (default). */
  readonly minP?: number;
  /** Locally typical sampling (Meister et al.): keep the tokens closest to the expected surprise up to mass p; 1 = off (default). */
  readonly typicalP?: number;
  /** Divides positive / multiplies negative logits of tokens seen in the window; 1 = off (default). */
  readonly repeatPenalty?: number;
  /** Subtracts count * frequencyPenalty from a token's logit (count = occurrences in the window); 0 = off (default). */
  readonly frequencyPenalty?: number;
  /** Subtracts presencePenalty from the logit of every token seen in the window; 0 = off (default). */
  readonly presencePenalty?: number;
  /** How many of the most recently accepted tokens the penalties look at; 0 = none. Default 64. */
  readonly repeatLastN?: number;
  /** Added to a token's logit before everything else; -Infinity bans the token. */
  readonly logitBias?: Readonly<Record<number, number>>;
  /** Seed of the random generator; the same seed and logits give the same tokens. Default: random. */
  readonly seed?: number;
  /**
   * A GBNF grammar (llama.cpp's syntax, start rule `root`) the output must follow. The `Sampler` takes the
   * compiled constraint as `SamplerExtras.constraint` (it needs the tokenizer); generation loops build it from this.
   */
  readonly grammar?: string;
  /** A JSON schema the output must be valid under (converted with `jsonSchemaToGbnf`); not together with `grammar`. */
  readonly jsonSchema?: object;
}

/** Every sampling option: name, type, range, default and meaning (the CLI builds its flags from this). */
export const samplingOptionTable: readonly OptionSpec[] = [
  { name: 'temperature', type: 'number', min: 0, default: 1, description: 'divides the logits before the draw; 0 = greedy (argmax)' },
  { name: 'topK', type: 'integer', min: 0, default: 0, description: 'keep only the k most likely tokens; 0 = off' },
  { name: 'topP', type: 'number', min: 0, max: 1, minExclusive: true, default: 1, description: 'nucleus: keep the most likely tokens up to this probability mass; 1 = off' },
  { name: 'minP', type: 'number', min: 0, max: 1, default: 0, description: "drop tokens less likely than minP times the best token's probability; 0 = off" },
  { name: 'typicalP', type: 'number', min: 0, max: 1, minExclusive: true, default: 1, description: 'locally typical sampling mass; 1 = off' },
  { name: 'repeatPenalty', type: 'number', min: 0, minExclusive: true, default: 1, description: 'divides positive / multiplies negative logits of recently seen tokens; 1 = off' },
  { name: 'frequencyPenalty', type: 'number', default: 0, description: "subtracts count x this from a recently seen token's logit; 0 = off" },
  { name: 'presencePenalty', type: 'number', default: 0, description: "subtracts this from a recently seen token's logit; 0 = off" },
  { name: 'repeatLastN', type: 'integer', min: 0, default: 64, description: 'how many recent tokens the penalties look at; 0 = none' },
  { name: 'logitBias', type: 'tokenBias', default: {}, description: "added to a token's logit first; -Infinity bans the token" },
  { name: 'seed', type: 'integer', min: 0, max: 0xffffffff, default: undefined, description: 'random generator seed (default: random); same seed, same tokens' },
  { name: 'grammar', type: 'grammar', default: undefined, description: 'constrain the output to a GBNF grammar (start rule root)' },
  { name: 'jsonSchema', type: 'jsonSchema', default: undefined, description: 'constrain the output to JSON valid under this schema' },
];

/**
 * Checks sampling options from an untrusted source (CLI flags, an HTTP body).
 * @throws InvalidInputError (code `INVALID_OPTION`, `field` naming the option) for a bad value or an unknown name.
 */
export function validateSamplingOptions(options: unknown): SamplingOptions {
  return validateOptions(samplingOptionTable, options) as SamplingOptions;
}
