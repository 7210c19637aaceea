import { samplingOptionTable, validateOptions, type OptionSpec, type SamplingOptions } from '@smallmind/runtime';

/** Generation options that are data (the callbacks `onText` and `signal` are passed beside them). */
export interface GenerationOptions extends SamplingOptions {
  /** Most new tokens. */
  readonly maxTokens?: number;
  /** Stop strings: generation ends before the first one that appears; it is not part of the text. */
  readonly stop?: readonly string[];
  /** Prepend BOS (default: the tokenizer's metadata). */
  readonly addBos?: boolean;
}

/** Most stop strings and longest one: held-back text is bounded by the longest. */
export const MAX_STOP_STRINGS = 16;
export const MAX_STOP_LENGTH = 256;

/** The sampling options plus the generation ones: name, type, range, default, description (CLI flags come from here). */
export const generationOptionTable: readonly OptionSpec[] = [
  ...samplingOptionTable,
  { name: 'maxTokens', type: 'integer', min: 0, default: 128, description: 'most new tokens (fewer when the context window ends first)' },
  { name: 'stop', type: 'string[]', maxItems: MAX_STOP_STRINGS, maxLength: MAX_STOP_LENGTH, default: [], description: 'stop strings: generation ends before the first one, which is left out' },
  { name: 'addBos', type: 'boolean', default: undefined, description: "prepend BOS (default: the tokenizer's metadata)" },
];

/**
 * Checks generation options from an untrusted source against `generationOptionTable`.
 * @throws InvalidInputError (code `INVALID_OPTION`, `field` naming the option, e.g. `stop[2]`), also for unknown names.
 */
export function validateGenerationOptions(options: unknown): GenerationOptions {
  return validateOptions(generationOptionTable, options) as GenerationOptions;
}
