export { ContextOverflowError, InvalidInputError, ModelConfigError, ModelLoadError, SessionError } from './errors.js';
export { LOG_LEVELS, consoleLogger, createConsoleLogger, isLogLevel, silentLogger } from './logger.js';
export type { ConsoleLoggerOptions, LogLevel, Logger } from './logger.js';
export { architectureByName, architectureOf, supportedArchitectures } from './architectures/index.js';
export type { AnyArchitecture, Architecture } from './architectures/index.js';
export { ConfigKeys, readBaseConfig } from './model/config.js';
export type { LayerConfig, ModelConfig, PoolingType, RopeMode, RopeSpec } from './model/config.js';
export { Forward, Rows, cosineSimilarity, normalizeL2, poolHiddenStates } from './model/forward.js';
export type { KvType } from './model/kv-cache.js';
export { Model } from './model/model.js';
export type { CreateModelOptions, EmbedOptions, EmbedPooling, Embedding } from './model/model.js';
export { DEFAULT_CONTEXT_CAP, Session } from './model/session.js';
export type { EvaluateOptions, SessionMemory, SessionOptions } from './model/session.js';
export { checkTensorDirectory, tensorSpecs } from './model/tensor-table.js';
export type { TensorDef, TensorKind, TensorSpec, TensorTable } from './model/tensor-table.js';
export { SmqModelLoader } from './smq-model-loader.js';
export type { LoadFromSmqOptions, LoadProgress, ModelTensorSource, WeightBackend } from './smq-model-loader.js';
export { Sampler, createRng, describeRange, samplingOptionTable, validateOptions, validateSamplingOptions } from './sampling.js';
export type { OptionSpec, OptionType, SamplerExtras, SamplingOptions } from './sampling.js';
export {
  CharClass,
  GRAMMAR_LIMITS,
  GrammarConstraint,
  GrammarMatchError,
  GrammarMatcher,
  GrammarSpace,
  GrammarState,
  GrammarSyntaxError,
  JsonSchemaError,
  MAX_STACKS,
  compileGrammar,
  gbnfLiteral,
  grammarSpace,
  jsonObjectGbnf,
  jsonSchemaToGbnf,
  vocabularyIndex,
} from './grammar/index.js';
export type { CompiledGrammar, GrammarErrorCode, JsonSchemaErrorCode, JsonSchemaToGbnfOptions, LogitConstraint, VocabularyIndex } from './grammar/index.js';
export { TokenType, TokenizerError, TokenizerErrorCode, createTokenizer, supportedPreTokenizers } from './tokenizer/index.js';
export type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer, TokenizerKind } from './tokenizer/index.js';
export {
  boundF32Tensors,
  bool,
  buildRandomModel,
  defaultRandomShape,
  f32,
  gaussian,
  modelFromRawTensors,
  randomModelMetadata,
  randomModelTensors,
  str,
  tinyVocabularyEntries,
  u32,
} from './testing/random-model.js';
export type { RandomMetadataOptions, RandomModelShape, RandomTensorOptions, RawTensor } from './testing/random-model.js';
