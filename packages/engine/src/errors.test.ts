import { SmallMindError } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import { EngineError, SmallMindEngine } from './index.js';
import * as pkg from './index.js';


/** The error classes `index.ts` exports; a new one must be added here (and extend SmallMindError). */
const EXPECTED = ['ChatTemplateError', 'EngineError', 'ToolCallError', 'WorkerError'];

describe('EngineError', () => {
  it('is a SmallMindError with its string code, as thrown by the facade', async () => {
    const engine = new SmallMindEngine();
    const error: unknown = await engine.generate('hello').then(
      () => undefined,
      (e: unknown) => e,
    );
    await engine.dispose();
    expect(error).toBeInstanceOf(EngineError);
    expect(error).toBeInstanceOf(SmallMindError);
    expect(error).toMatchObject({ name: 'EngineError', code: 'NO_MODEL_LOADED', field: 'model' });
    expect(typeof (error as SmallMindError).code).toBe('string');
  });

  it('covers every error class the package exports', () => {
    const errorClasses = Object.entries(pkg).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error);
    expect(errorClasses.map(([name]) => name).sort()).toEqual(EXPECTED.slice().sort());
    for (const [name, Class] of errorClasses) expect(Class === SmallMindError || (Class as { prototype: unknown }).prototype instanceof SmallMindError, name).toBe(true);
  });
});
