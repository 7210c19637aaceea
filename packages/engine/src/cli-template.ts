/**
 * `smallmind template`: the prompt a model's chat template renders, from the file's metadata alone (no
 * weights are read, so a vocab-only GGUF works). BOS / EOS text and the template choice are those of the
 * worker's `chat.render`, so this prints what `chat` and `engine.renderChat` feed the model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { createTokenizer } from '@smallmind/runtime';
import { builtinChatTemplates, renderChatTemplate, selectChatTemplate, type ChatMessage } from './chat/template.js';
import { CliError, withModelFile } from './cli-shared.js';

/** Longest messages file read (a conversation, not a data set). */
const MAX_MESSAGES_FILE_BYTES = 64 * 2 ** 20;

/** `--template`: a built-in name (`chatml`, `plain`) or a file holding a Jinja template; returns the override. */
export function parseTemplateFlag(value: string): string {
  if (value in builtinChatTemplates) return value;
  if (existsSync(value)) return readFileSync(value, 'utf8');
  throw new InvalidArgumentError(`--template: "${value}" is neither a built-in template (${Object.keys(builtinChatTemplates).join(', ')}) nor a file`);
}

export interface Conversation {
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly unknown[];
}

/** A messages file: an OpenAI-style array of messages, or `{ "messages": [...], "tools": [...] }`. */
export function readMessagesFile(path: string): Conversation {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError('BAD_MESSAGES_FILE', `cannot read the messages file ${path}: ${(error as Error).message}`);
  }
  if (text.length > MAX_MESSAGES_FILE_BYTES) throw new CliError('BAD_MESSAGES_FILE', `${path}: larger than ${MAX_MESSAGES_FILE_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError('BAD_MESSAGES_FILE', `${path} is not JSON: ${(error as Error).message}`);
  }
  if (Array.isArray(parsed)) return { messages: parsed as ChatMessage[] };
  if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { messages?: unknown }).messages)) {
    const { messages, tools } = parsed as { messages: ChatMessage[]; tools?: unknown };
    if (tools !== undefined && !Array.isArray(tools)) throw new CliError('BAD_MESSAGES_FILE', `${path}: "tools" must be an array`);
    return tools === undefined ? { messages } : { messages, tools };
  }
  throw new CliError('BAD_MESSAGES_FILE', `${path}: expected an array of messages or an object with a "messages" array`);
}

export interface TemplateOptions {
  readonly template?: string;
  readonly addGenerationPrompt: boolean;
}

/** The rendering of `conversation` with the chat template of the model file at `path`. */
export async function renderTemplateOfFile(path: string, conversation: Conversation, options: TemplateOptions): Promise<string> {
  return withModelFile(path, ({ metadata }) => {
    const modelTemplate = metadata.has('tokenizer.chat_template') ? metadata.getString('tokenizer.chat_template') : undefined;
    const tokenizer = createTokenizer(metadata);
    const piece = (id: number | undefined): string => (id === undefined ? '' : tokenizer.tokenToPiece(id));
    return renderChatTemplate(selectChatTemplate(modelTemplate, options.template), conversation.messages, {
      addGenerationPrompt: options.addGenerationPrompt,
      bosToken: piece(tokenizer.bosId),
      eosToken: piece(tokenizer.eosId),
      ...(conversation.tools === undefined ? {} : { tools: conversation.tools }),
    });
  });
}
