/**
 * `POST /v1/embeddings` (OpenAI's shape): `input` is a string, an array of strings, an array of token ids or
 * an array of those; each gets one vector, pooled as the GGUF says (`{arch}.pooling_type`: mean, cls or last)
 * and L2-normalised, as llama-server does. `encoding_format` `float` (default) or `base64` (little-endian
 * float32 bytes, which the openai client asks for by default); `dimensions` must equal the model's width.
 * A model without a pooling type (a plain decoder) gets a 400 saying so.
 */
import type { FastifyInstance } from 'fastify';
import type { ModelInfo, SmallMindEngine } from '../engine.js';
import type { EmbedInput } from '../worker/protocol.js';
import { ApiError, toApiError } from './errors.js';

/** Most inputs in one request (OpenAI's limit). */
const MAX_INPUTS = 2048;

const tokenArray = { type: 'array', minItems: 1, maxItems: 65536, items: { type: 'integer', minimum: 0 } } as const;

export const embeddingsBody = {
  type: 'object',
  required: ['input'],
  properties: {
    model: { type: 'string', maxLength: 256 },
    input: {
      anyOf: [
        { type: 'string' },
        { type: 'array', minItems: 1, maxItems: MAX_INPUTS, items: { type: 'string' } },
        tokenArray,
        { type: 'array', minItems: 1, maxItems: MAX_INPUTS, items: tokenArray },
      ],
    },
    encoding_format: { type: 'string', enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1 },
    user: { type: 'string' },
  },
} as const;

export interface EmbeddingsBody {
  readonly model?: string;
  readonly input: string | readonly string[] | readonly number[] | ReadonlyArray<readonly number[]>;
  readonly encoding_format?: 'float' | 'base64';
  readonly dimensions?: number;
}

/** What the route needs of a served model. */
export interface EmbeddingModel {
  readonly name: string;
  readonly engine: SmallMindEngine;
  readonly info: ModelInfo;
}

function base64Of(vector: Float32Array): string {
  // Float32Array is platform-endian; OpenAI's base64 is little-endian float32.
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}

/** The inputs as a list (a bare string or token array is one input). */
function inputsOf(input: EmbeddingsBody['input']): EmbedInput[] {
  if (typeof input === 'string') return [input];
  if (input.length > 0 && typeof input[0] === 'number') return [input as readonly number[]];
  return [...(input as ReadonlyArray<string | readonly number[]>)];
}

/** The engine names an input's token `tokens[3]` or `input[1][3]`; the API's field is `input`. */
function asInputError(error: unknown): ApiError {
  const field = (error as { field?: unknown }).field;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'CONTEXT_OVERFLOW') return new ApiError(400, 'invalid_request_error', `an input is longer than the model's context: ${message}`, 'input', 'context_length_exceeded');
  const api = toApiError(error);
  if (api.status === 400 && typeof field === 'string' && (field.startsWith('tokens') || field.startsWith('input'))) {
    return new ApiError(400, api.type, api.message, field.startsWith('tokens') ? `input${field.slice('tokens'.length)}` : field, api.code);
  }
  return api;
}

export function registerEmbeddings(app: FastifyInstance, served: (name: string | undefined) => EmbeddingModel): void {
  app.post<{ Body: EmbeddingsBody }>('/v1/embeddings', { schema: { body: embeddingsBody } }, async (request) => {
    const body = request.body;
    const model = served(body.model);
    const { embedding } = model.info;
    if (embedding.pooling === undefined) {
      throw new ApiError(
        400,
        'invalid_request_error',
        `the model '${model.name}' (${model.info.architecture}) does not produce embeddings: its GGUF declares no ${model.info.architecture}.pooling_type (mean, cls or last)`,
        'model',
        'embeddings_not_supported',
      );
    }
    if (body.dimensions !== undefined && body.dimensions !== embedding.length) {
      throw new ApiError(400, 'invalid_request_error', `dimensions = ${body.dimensions}: the model's embeddings have ${embedding.length} dimensions and cannot be shortened`, 'dimensions', 'invalid_value');
    }
    const inputs = inputsOf(body.input);
    const result = await model.engine.embed(inputs).catch((error: unknown) => {
      throw asInputError(error);
    });
    request.tokens = { prompt: result.promptTokens, generated: 0 };
    const base64 = body.encoding_format === 'base64';
    return {
      object: 'list',
      data: result.embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? base64Of(vector) : Array.from(vector) })),
      model: model.name,
      usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
    };
  });
}
