export { GrammarMatchError, GrammarSyntaxError, JsonSchemaError } from './errors.js';
export type { GrammarErrorCode, JsonSchemaErrorCode } from './errors.js';
export { CharClass, compileGrammar, GRAMMAR_LIMITS } from './parser.js';
export type { CompiledGrammar } from './parser.js';
export { GRAMMAR_TABLE_LIMITS, GrammarMatcher, GrammarSpace, GrammarState, MAX_STACKS } from './matcher.js';
export { GrammarConstraint, grammarSpace, vocabularyIndex } from './constraint.js';
export type { LogitConstraint, VocabularyIndex } from './constraint.js';
export { gbnfLiteral, jsonObjectGbnf, jsonSchemaToGbnf } from './json-schema.js';
export type { JsonSchemaToGbnfOptions } from './json-schema.js';
