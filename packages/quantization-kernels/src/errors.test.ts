import { SmallMindError } from '@smallmind/quantization-tensors';
import { describe, expect, it } from 'vitest';
import { KernelError, createBackend } from './index.js';
import * as pkg from './index.js';


/** The error classes `index.ts` exports; a new one must be added here (and extend SmallMindError). */
const EXPECTED = ['KernelError'];

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

  it('covers every error class the package exports', () => {
    const errorClasses = Object.entries(pkg).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error);
    expect(errorClasses.map(([name]) => name).sort()).toEqual(EXPECTED.slice().sort());
    for (const [name, Class] of errorClasses) expect(Class === SmallMindError || (Class as { prototype: unknown }).prototype instanceof SmallMindError, name).toBe(true);
  });
});
