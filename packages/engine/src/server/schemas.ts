/**
 * JSON schemas of every request body (fastify validates them with ajv, types never coerced). Unknown fields are
 * allowed and ignored, as OpenAI clients send more than we use; known fields must have the right type and range.
 * Sizes are bounded here and by the body limit, so nothing is allocated from an untrusted count.
 */

const number = { type: 'number' } as const;
const integer = { type: 'integer' } as const;
const nonNegativeInteger = { type: 'integer', minimum: 0 } as const;

/** Everything both generation endpoints accept besides the prompt. */
const generationProperties = {
  model: { type: 'string', maxLength: 256 },
  max_tokens: { anyOf: [nonNegativeInteger, { type: 'null' }] },
  temperature: { anyOf: [{ type: 'number', minimum: 0, maximum: 100 }, { type: 'null' }] },
  top_p: { anyOf: [{ type: 'number', minimum: 0, maximum: 1 }, { type: 'null' }] },
  n: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] },
  stream: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
  stream_options: { anyOf: [{ type: 'object', properties: { include_usage: { type: 'boolean' } } }, { type: 'null' }] },
  stop: { anyOf: [{ type: 'string', maxLength: 256 }, { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 256 } }, { type: 'null' }] },
  seed: { anyOf: [integer, { type: 'null' }] },
  logit_bias: {
    anyOf: [
      { type: 'object', maxProperties: 1024, propertyNames: { pattern: '^[0-9]{1,9}$' }, additionalProperties: { type: 'number', minimum: -100, maximum: 100 } },
      { type: 'null' },
    ],
  },
  presence_penalty: { anyOf: [{ type: 'number', minimum: -2, maximum: 2 }, { type: 'null' }] },
  frequency_penalty: { anyOf: [{ type: 'number', minimum: -2, maximum: 2 }, { type: 'null' }] },
  // llama.cpp's extras.
  top_k: { anyOf: [nonNegativeInteger, { type: 'null' }] },
  min_p: { anyOf: [{ type: 'number', minimum: 0, maximum: 1 }, { type: 'null' }] },
  typical_p: { anyOf: [{ type: 'number', minimum: 0, maximum: 1 }, { type: 'null' }] },
  repeat_penalty: { anyOf: [number, { type: 'null' }] },
  repeat_last_n: { anyOf: [nonNegativeInteger, { type: 'null' }] },
  // Structured output: OpenAI's response_format, llama.cpp's grammar and json_schema (checked further by the engine).
  response_format: {
    anyOf: [
      {
        type: 'object',
        required: ['type'],
        properties: {
          type: { type: 'string', enum: ['text', 'json_object', 'json_schema'] },
          json_schema: {
            type: 'object',
            required: ['schema'],
            properties: { name: { type: 'string', maxLength: 256 }, description: { type: 'string' }, schema: { type: 'object' }, strict: { anyOf: [{ type: 'boolean' }, { type: 'null' }] } },
          },
        },
      },
      { type: 'null' },
    ],
  },
  grammar: { anyOf: [{ type: 'string', maxLength: 262_144 }, { type: 'null' }] },
  json_schema: { anyOf: [{ type: 'object' }, { type: 'null' }] },
} as const;

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string', maxLength: 64 }, text: { type: 'string' } },
} as const;

/** An assistant's earlier call, as OpenAI clients send it back (`arguments` is JSON text). */
const toolCall = {
  type: 'object',
  required: ['function'],
  properties: {
    id: { type: 'string', maxLength: 256 },
    type: { const: 'function' },
    function: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 64 }, arguments: { type: 'string' } } },
  },
} as const;

/** A tool definition (the name and schema are checked further by the engine's `checkTools`). */
const tool = {
  type: 'object',
  required: ['type', 'function'],
  properties: {
    type: { const: 'function' },
    function: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 64 }, description: { type: 'string' }, parameters: { type: 'object' } } },
  },
} as const;

export const chatCompletionBody = {
  type: 'object',
  required: ['messages'],
  properties: {
    ...generationProperties,
    max_completion_tokens: { anyOf: [nonNegativeInteger, { type: 'null' }] },
    messages: {
      type: 'array',
      minItems: 1,
      maxItems: 4096,
      items: {
        type: 'object',
        required: ['role'],
        properties: {
          role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
          content: { anyOf: [{ type: 'string' }, { type: 'array', maxItems: 256, items: contentPart }, { type: 'null' }] },
          name: { type: 'string', maxLength: 256 },
          tool_call_id: { type: 'string', maxLength: 256 },
          tool_calls: { anyOf: [{ type: 'array', maxItems: 128, items: toolCall }, { type: 'null' }] },
        },
      },
    },
    tools: { anyOf: [{ type: 'array', maxItems: 128, items: tool }, { type: 'null' }] },
    tool_choice: {
      anyOf: [
        { type: 'string', enum: ['auto', 'none', 'required'] },
        { type: 'object', required: ['type', 'function'], properties: { type: { const: 'function' }, function: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 64 } } } } },
        { type: 'null' },
      ],
    },
    parallel_tool_calls: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
  },
} as const;

export const completionBody = {
  type: 'object',
  required: ['prompt'],
  properties: {
    ...generationProperties,
    prompt: {
      anyOf: [
        { type: 'string' },
        // n = 1: one prompt, as a one-element list or as token ids.
        { type: 'array', minItems: 1, maxItems: 1, items: { type: 'string' } },
        { type: 'array', minItems: 1, maxItems: 1_048_576, items: nonNegativeInteger },
      ],
    },
  },
} as const;

export const tokenizeBody = {
  type: 'object',
  required: ['content'],
  properties: {
    model: { type: 'string', maxLength: 256 },
    content: { type: 'string' },
    add_special: { type: 'boolean' },
    parse_special: { type: 'boolean' },
    with_pieces: { type: 'boolean' },
  },
} as const;

export const detokenizeBody = {
  type: 'object',
  required: ['tokens'],
  properties: {
    model: { type: 'string', maxLength: 256 },
    tokens: { type: 'array', maxItems: 1_048_576, items: nonNegativeInteger },
  },
} as const;

/** Bodies as the schemas guarantee them. */
export interface GenerationBody {
  readonly model?: string;
  readonly max_tokens?: number | null;
  readonly max_completion_tokens?: number | null;
  readonly temperature?: number | null;
  readonly top_p?: number | null;
  readonly n?: number | null;
  readonly stream?: boolean | null;
  readonly stream_options?: { readonly include_usage?: boolean } | null;
  readonly stop?: string | readonly string[] | null;
  readonly seed?: number | null;
  readonly logit_bias?: Readonly<Record<string, number>> | null;
  readonly presence_penalty?: number | null;
  readonly frequency_penalty?: number | null;
  readonly top_k?: number | null;
  readonly min_p?: number | null;
  readonly typical_p?: number | null;
  readonly repeat_penalty?: number | null;
  readonly repeat_last_n?: number | null;
  readonly response_format?: { readonly type: 'text' | 'json_object' | 'json_schema'; readonly json_schema?: { readonly schema: object; readonly name?: string; readonly strict?: boolean | null } } | null;
  readonly grammar?: string | null;
  readonly json_schema?: object | null;
}

export interface ChatBody extends GenerationBody {
  readonly messages: ReadonlyArray<{
    readonly role: string;
    readonly content?: string | ReadonlyArray<{ readonly type: string; readonly text?: string }> | null;
    readonly name?: string;
    readonly tool_call_id?: string;
    readonly tool_calls?: ReadonlyArray<{ readonly id?: string; readonly type?: 'function'; readonly function: { readonly name: string; readonly arguments?: string } }> | null;
  }>;
  readonly tools?: readonly unknown[] | null;
  readonly tool_choice?: unknown;
  readonly parallel_tool_calls?: boolean | null;
}

export interface CompletionBody extends GenerationBody {
  readonly prompt: string | readonly [string] | readonly number[];
}

export interface TokenizeBody {
  readonly model?: string;
  readonly content: string;
  readonly add_special?: boolean;
  readonly parse_special?: boolean;
  readonly with_pieces?: boolean;
}

export interface DetokenizeBody {
  readonly model?: string;
  readonly tokens: readonly number[];
}
