import { SmallMindError } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import * as runtime from './index.js';
import { buildRandomModel } from './testing/random-model.js';

describe('runtime errors extend SmallMindError', () => {
  it('every exported error class does', () => {
    const classes = Object.entries(runtime).filter(([name, value]) => typeof value === 'function' && /Error$/.test(name));
    expect(classes.map(([name]) => name).sort()).toEqual(['ContextOverflowError', 'GrammarMatchError', 'GrammarSyntaxError', 'InvalidInputError', 'JsonSchemaError', 'ModelConfigError', 'ModelLoadError', 'SessionError', 'TokenizerError']);
    for (const [, value] of classes) expect((value as { prototype: unknown }).prototype).toBeInstanceOf(SmallMindError);
  });

  it('errors thrown by the API carry a string code', () => {
    const { model } = buildRandomModel('llama');
    const session = model.createSession({ contextSize: 4 });
    const caught: unknown[] = [];
    for (const run of [() => session.evaluate([]), () => session.evaluate([1, 2, 3, 4, 5]), () => model.tokenizer.decode([-1]), () => runtime.architectureByName('mamba')]) {
      try {
        run();
      } catch (error) {
        caught.push(error);
      }
    }
    expect(caught).toHaveLength(4);
    for (const error of caught) {
      expect(error).toBeInstanceOf(SmallMindError);
      expect(typeof (error as SmallMindError).code).toBe('string');
    }
  });
});
