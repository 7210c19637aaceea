export { ContextOverflowError, InvalidInputError, ModelConfigError, ModelLoadError } from './errors.js';
export { consoleLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { architectureDescriptor, determineModelConfig, supportedArchitectures } from './model-config.js';
export type { ArchitectureDescriptor, ModelConfig, RopeMode, TensorSpec } from './model-config.js';
export { TransformerModel } from './transformer-model.js';
export type { LlamaLayerWeights, LlamaWeights, TransformerModelOptions } from './transformer-model.js';
export { Sampler, createRng, generateTokens } from './sampling.js';
export type { GenerateTokensOptions, SamplingOptions } from './sampling.js';
