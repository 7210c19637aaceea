import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { ChatTemplateError } from './errors.js';
import { strftime } from './strftime.js';

/** One part of a multi-part message content (`{ type: 'text', text }`, or an image/audio placeholder). */
export interface ChatContentPart {
  readonly type: string;
  readonly text?: string;
  readonly [key: string]: unknown;
}

/** A chat message as chat templates expect it (extra fields such as `tool_calls` pass through). */
export interface ChatMessage {
  readonly role: string;
  readonly content: string | readonly ChatContentPart[];
  readonly [key: string]: unknown;
}

export interface RenderChatOptions {
  /** End with the header of an assistant turn, so the model answers (default true). */
  readonly addGenerationPrompt?: boolean;
  /** Text of the BOS / EOS tokens the template may print (default ''). */
  readonly bosToken?: string;
  readonly eosToken?: string;
  /** Tool (function) schemas, passed as `tools`; absent = `none`, as in transformers. */
  readonly tools?: readonly unknown[];
  /** The clock of `strftime_now` (default: now). */
  readonly now?: Date;
  /** More template variables (e.g. `enable_thinking`). */
  readonly variables?: Readonly<Record<string, unknown>>;
}

/**
 * ChatML, the fallback for models whose file carries no `tokenizer.chat_template` (as llama.cpp falls back).
 * Every turn is `<|im_start|>role\ncontent<|im_end|>\n`.
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A plain transcript for models with no chat tokens at all: `System: ...`, `User: ...`, `Assistant: ...`. */
export const PLAIN_TEMPLATE =
  "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n\n{% endfor %}" +
  "{% if add_generation_prompt %}Assistant:{% endif %}";

/** Templates by name, for an option that picks one instead of the model's. */
export const builtinChatTemplates: Readonly<Record<string, string>> = { chatml: CHATML_TEMPLATE, plain: PLAIN_TEMPLATE };

/**
 * The template to use: `override` when given (a name in `builtinChatTemplates`, or template text), else the
 * model's `tokenizer.chat_template`, else `fallback` (see `fallbackChatTemplateName` to pick it from the vocabulary).
 */
export function selectChatTemplate(modelTemplate: string | undefined, override?: string, fallback: 'chatml' | 'plain' = 'chatml'): string {
  if (override !== undefined) return builtinChatTemplates[override] ?? override;
  return modelTemplate ?? builtinChatTemplates[fallback]!;
}

const compiled = new Map<string, Template>();

function compile(source: string): Template {
  let template = compiled.get(source);
  if (template === undefined) {
    try {
      template = new Template(source);
    } catch (error) {
      throw new ChatTemplateError('TEMPLATE_SYNTAX', 'template', `the chat template does not parse: ${(error as Error).message}`);
    }
    // Templates are few per process (one per model); keep the cache from growing without bound anyway.
    if (compiled.size >= 16) compiled.delete(compiled.keys().next().value!);
    compiled.set(source, template);
  }
  return template;
}

/** Most items a template's `range()` may build: a template is untrusted input (it comes from the model file). */
const MAX_RANGE = 1_000_000;

function pythonRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (![start, stop, step].every(Number.isSafeInteger) || step === 0) throw new Error(`range(${start}, ${stop}, ${step}): integer arguments and a non-zero step required`);
  const length = Math.max(0, Math.ceil((stop - start) / step));
  if (length > MAX_RANGE) throw new Error(`range() of ${length} items exceeds ${MAX_RANGE}`);
  return Array.from({ length }, (_, i) => start + i * step);
}

/** Thrown by the template's `raise_exception` so it can be told apart from the renderer's own errors. */
class RaisedByTemplate extends Error {}

export function checkMessages(messages: unknown): readonly ChatMessage[] {
  if (!Array.isArray(messages)) throw new ChatTemplateError('INVALID_MESSAGE', 'messages', 'messages must be an array');
  messages.forEach((message: unknown, i) => {
    const field = `messages[${i}]`;
    if (typeof message !== 'object' || message === null) throw new ChatTemplateError('INVALID_MESSAGE', field, `${field} must be an object`);
    const { role, content } = message as Record<string, unknown>;
    if (typeof role !== 'string' || role.length === 0) throw new ChatTemplateError('INVALID_MESSAGE', `${field}.role`, `${field}.role must be a non-empty string`);
    if (typeof content !== 'string' && !Array.isArray(content)) throw new ChatTemplateError('INVALID_MESSAGE', `${field}.content`, `${field}.content must be a string or an array of parts`);
  });
  return messages as readonly ChatMessage[];
}

/**
 * Renders a chat template as transformers' `apply_chat_template` does (trim_blocks, lstrip_blocks; variables
 * `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `tools`, `raise_exception`, `strftime_now`).
 * @throws ChatTemplateError: `TEMPLATE_SYNTAX`, `TEMPLATE_RAISED` (with the template's message), `TEMPLATE_RENDER`, `INVALID_MESSAGE`.
 */
export function renderChatTemplate(template: string, messages: readonly ChatMessage[], options: RenderChatOptions = {}): string {
  checkMessages(messages);
  const now = options.now;
  const context: Record<string, unknown> = {
    // What @huggingface/jinja's own render() declares, with raise_exception and strftime_now of our own
    // (its render() cannot override them: a typed error for the first, an injectable clock for the second).
    true: true,
    false: false,
    none: null,
    True: true,
    False: false,
    None: null,
    range: pythonRange,
    ...options.variables,
    messages,
    add_generation_prompt: options.addGenerationPrompt ?? true,
    bos_token: options.bosToken ?? '',
    eos_token: options.eosToken ?? '',
    tools: options.tools ?? null,
    documents: null,
    raise_exception: (message: unknown) => {
      throw new RaisedByTemplate(String(message));
    },
    strftime_now: (format: unknown) => strftime(now ?? new Date(), String(format)),
  };
  const compiledTemplate = compile(template);
  try {
    const environment = new Environment();
    for (const [name, value] of Object.entries(context)) environment.set(name, value);
    return String(new Interpreter(environment).run(compiledTemplate.parsed).value);
  } catch (error) {
    if (error instanceof RaisedByTemplate) throw new ChatTemplateError('TEMPLATE_RAISED', 'messages', error.message);
    throw new ChatTemplateError('TEMPLATE_RENDER', 'template', `the chat template failed to render: ${(error as Error).message}`);
  }
}
