import { SmallMindError } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import { EngineError, SmallMindEngine } from './index.js';

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
});
