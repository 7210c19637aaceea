import { SmallMindError } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import { KernelError, createBackend } from './index.js';

describe('KernelError', () => {
  it('is a SmallMindError with its string code, as thrown by createBackend', async () => {
    const error: unknown = await createBackend({ threads: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KernelError);
    expect(error).toBeInstanceOf(SmallMindError);
    expect(error).toMatchObject({ name: 'KernelError', code: 'BAD_OPTIONS', field: 'threads' });
    expect(typeof (error as SmallMindError).code).toBe('string');
  });
});
