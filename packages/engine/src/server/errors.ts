/**
 * Errors as OpenAI's API shapes them: `{"error":{"message","type","param","code"}}` with the HTTP status.
 * Every failure the server can meet is mapped here, so a client always gets this shape.
 */
import { SmallMindError } from '@smallmind/quantization-tensors';
import { PoolClosedError, QueueFullError } from './slots.js';

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error' | 'unavailable_error';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (Retry-After for 429). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toBody(): { error: { message: string; type: ApiErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Engine option names as the API spells them (the validator's `field` may carry an index: `stop[2]`). */
const PARAM_OF_FIELD: Readonly<Record<string, string>> = {
  temperature: 'temperature',
  topK: 'top_k',
  topP: 'top_p',
  minP: 'min_p',
  typicalP: 'typical_p',
  repeatPenalty: 'repeat_penalty',
  frequencyPenalty: 'frequency_penalty',
  presencePenalty: 'presence_penalty',
  repeatLastN: 'repeat_last_n',
  logitBias: 'logit_bias',
  seed: 'seed',
  maxTokens: 'max_tokens',
  stop: 'stop',
  prompt: 'prompt',
  messages: 'messages',
};

export function paramOfField(field: string | undefined): string | null {
  if (field === undefined || field === '') return null;
  const match = /^([A-Za-z]+)(.*)$/.exec(field);
  if (match === null) return field;
  const name = PARAM_OF_FIELD[match[1]!];
  return name === undefined ? field : `${name}${match[2]!}`;
}

/** Codes of engine / worker errors that mean the request itself is wrong (400). */
const BAD_REQUEST_CODES = new Set(['INVALID_OPTION', 'TOKEN_OUT_OF_RANGE', 'EMPTY_INPUT', 'INVALID_INPUT', 'INVALID_TOKEN']);

/** Any error thrown while serving a request, as the API reports it. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof QueueFullError) {
    return new ApiError(429, 'rate_limit_error', `${error.message}; retry later`, null, 'queue_full', { 'retry-after': '1' });
  }
  if (error instanceof PoolClosedError) return new ApiError(503, 'unavailable_error', error.message, null, 'server_shutting_down');
  if (error instanceof SmallMindError || (error instanceof Error && typeof (error as { code?: unknown }).code === 'string')) {
    const code = (error as { code: string }).code;
    const field = (error as { field?: unknown }).field;
    const param = paramOfField(typeof field === 'string' ? field : undefined);
    if (code === 'PROMPT_TOO_LONG' || code === 'CONTEXT_FULL') return new ApiError(400, 'invalid_request_error', error.message, param, 'context_length_exceeded');
    if (BAD_REQUEST_CODES.has(code) || error.name === 'ChatTemplateError' || error.name === 'TokenizerError' || error.name === 'InvalidInputError') {
      return new ApiError(400, 'invalid_request_error', error.message, param, code.toLowerCase());
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(500, 'server_error', `internal error: ${message}`, null, 'internal_error');
}
