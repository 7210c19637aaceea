import { SmallMindError } from '@smallmind/quantization-tensors';

export type GrammarErrorCode =
  /** The text is not GBNF: `line`/`column` say where, the message what was expected. */
  | 'GRAMMAR_SYNTAX'
  /** A rule is referenced but never defined (or `root` is missing). */
  | 'GRAMMAR_UNDEFINED_RULE'
  /** A rule can reach itself without consuming a character (the matcher would never terminate). */
  | 'GRAMMAR_LEFT_RECURSION'
  /** Text, rule count, repetition bound or expanded size beyond the limits. */
  | 'GRAMMAR_TOO_LARGE';

/** A GBNF grammar that cannot be compiled; `line` and `column` are 1-based positions in the grammar text. */
export class GrammarSyntaxError extends SmallMindError<GrammarErrorCode> {
  override readonly name = 'GrammarSyntaxError';
  constructor(
    code: GrammarErrorCode,
    readonly line: number,
    readonly column: number,
    message: string,
  ) {
    super(code, line > 0 ? `grammar ${line}:${column}: ${message}` : `grammar: ${message}`);
  }

  /** What is at fault, as InvalidInputError's `field` names it (servers report it as `param`). */
  get field(): string {
    return 'grammar';
  }
}

export type JsonSchemaErrorCode =
  /** A keyword (or a pattern construct) the converter does not support. */
  | 'SCHEMA_UNSUPPORTED'
  /** The schema is malformed: a wrong type for a keyword, a dangling $ref, contradictory bounds. */
  | 'SCHEMA_INVALID';

/** A JSON schema that cannot be turned into a grammar; `path` is a JSON pointer into the schema (`#/properties/a`). */
export class JsonSchemaError extends SmallMindError<JsonSchemaErrorCode> {
  override readonly name = 'JsonSchemaError';
  constructor(
    code: JsonSchemaErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(code, `JSON schema ${path}: ${message}`);
  }

  get field(): string {
    return 'jsonSchema';
  }
}

/** A grammar that cannot continue: every token is rejected (or too many parse stacks). */
export class GrammarMatchError extends SmallMindError<'GRAMMAR_DEAD_END' | 'GRAMMAR_TOO_AMBIGUOUS'> {
  override readonly name = 'GrammarMatchError';
  constructor(code: 'GRAMMAR_DEAD_END' | 'GRAMMAR_TOO_AMBIGUOUS', message: string) {
    super(code, message);
  }

  get field(): string {
    return 'grammar';
  }
}
