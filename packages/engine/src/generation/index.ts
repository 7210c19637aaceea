export { StopStringMatcher } from './stop-strings.js';
export type { StopMatch } from './stop-strings.js';
export { GenerationTextStream } from './text-stream.js';
export type { TextStreamOptions } from './text-stream.js';
export { MAX_STOP_LENGTH, MAX_STOP_STRINGS, generationOptionTable, validateGenerationOptions } from './options.js';
export type { GenerationOptions } from './options.js';
