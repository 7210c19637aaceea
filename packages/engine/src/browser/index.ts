/**
 * `@smallmind/engine/browser`: SmallMindEngine for web pages, with the model in a module Web Worker, sources
 * from a URL, a File/Blob or an ArrayBuffer, and GGUF imports cached in the Origin Private File System.
 * Nothing in this entry's module graph imports node:* (src/browser/bundle.test.ts bundles it to check).
 */
export { SmallMindEngine } from './engine.js';
export type { BrowserEngineOptions, BrowserLoadModelOptions, BrowserModelInfo, BrowserRuntimeInfo, LoadProgressEvent, ModelSource } from './engine.js';
export type { GenerateOptions, GenerateResult, SessionOptions } from '../engine-core.js';
export { EngineError, EngineErrorCode } from '../errors.js';
export { OpfsModelCache, cacheEntryName } from './opfs-cache.js';
export type { OpfsCacheEntry, OpfsDirectory, OpfsFileHandle, SourceIdentity } from './opfs-cache.js';
export type { WebWorkerLike } from './web-worker.js';
export * from '../chat/index.js';
export * from '../generation/index.js';
export { ChatSession, EngineSession, GenerationRun } from '../session.js';
export type { ChatSessionOptions, FinishReason, GenerationChunk, GenerationResult, GenerationTimings, Prompt, StreamOptions } from '../session.js';
export { WorkerError } from '../worker/worker-client.js';
