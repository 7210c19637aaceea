export { SmallMindEngine } from './engine.js';
export type { GenerateOptions, GenerateResult, LoadModelOptions, ModelInfo, SmallMindEngineOptions } from './engine.js';
export { EngineError, EngineErrorCode } from './errors.js';
export { cachedSmqPath, defaultCacheDir, ensureImported } from './model-cache.js';
export { formatMetadataValue, formatProgress, progressLine } from './format.js';
export * from './chat/index.js';
export * from './generation/index.js';
