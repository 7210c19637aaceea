import { InvalidInputError, samplingOptionTable } from '@smallmind/runtime';
import { describe, expect, it } from 'vitest';
import { MAX_STOP_LENGTH, MAX_STOP_STRINGS, generationOptionTable, validateGenerationOptions } from './options.js';

describe('validateGenerationOptions', () => {
  it('extends the sampling table with the generation options', () => {
    expect(generationOptionTable.map((s) => s.name)).toEqual([...samplingOptionTable.map((s) => s.name), 'maxTokens', 'stop', 'addBos']);
  });

  const bad: Array<[string, unknown, string]> = [
    ['maxTokens', -1, 'maxTokens'],
    ['maxTokens', 2.5, 'maxTokens'],
    ['stop', 'END', 'stop'],
    ['stop', ['ok', ''], 'stop[1]'],
    ['stop', ['ok', 3], 'stop[1]'],
    ['stop', Array.from({ length: MAX_STOP_STRINGS + 1 }, (_, i) => `s${i}`), 'stop'],
    ['stop', ['x'.repeat(MAX_STOP_LENGTH + 1)], 'stop[0]'],
    ['addBos', 'yes', 'addBos'],
    ['temperature', -1, 'temperature'],
    ['max_tokens', 5, 'max_tokens'],
  ];

  it.each(bad)('rejects %s = %j, naming %s', (name, value, field) => {
    let error: unknown;
    try {
      validateGenerationOptions({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ code: 'INVALID_OPTION', field });
  });

  it('accepts good values', () => {
    const good = { maxTokens: 0, stop: ['\nUser:', '<|im_end|>'], addBos: false, temperature: 0.7, topK: 40 };
    expect(validateGenerationOptions(good)).toEqual(good);
  });
});
