export { SmallMindEngine } from './engine.js';
export type { GenerateOptions, GenerateResult, LoadModelOptions, LoadProgress, ModelInfo, SmallMindEngineOptions } from './engine.js';
export { EngineError, EngineErrorCode } from './errors.js';
export { cacheEntrySource, cachedSmqPath, clearCache, defaultCacheDir, ensureImported, listCache, pruneCache, removeCacheEntry, sweepStaleTempFiles, touchCacheEntry } from './model-cache.js';
export type { CacheEntry, CacheEntrySource, PruneOptions, PruneResult } from './model-cache.js';
export { createProgress, formatBytes, formatMetadataValue, formatProgress, parseByteSize } from './format.js';
export type { Progress, ProgressOptions } from './format.js';
export * from './chat/index.js';
export * from './generation/index.js';
