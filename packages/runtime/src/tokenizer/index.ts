export { createTokenizer } from './tokenizer.js';
export type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from './tokenizer.js';
export { TokenizerError, TokenizerErrorCode } from './errors.js';
export { supportedPreTokenizers } from './pre-tokenizer.js';
export { TokenType } from './vocabulary.js';
export type { TokenizerKind } from './vocabulary.js';
