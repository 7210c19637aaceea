/** Test helpers: the chat-template fixtures (fixtures/chat-templates) and the vocabularies vendored beside them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { MemoryByteSource, openGguf } from '@smallmind/io-gguf';
import type { ModelMetadata } from '@smallmind/io-smq';
import type { ChatMessage } from './template.js';

export const chatFixtures = fileURLToPath(new URL('../../../../fixtures/chat-templates/', import.meta.url));

export interface TemplateInfo {
  readonly bos_token: string;
  readonly eos_token: string;
  readonly source: string;
}

export interface Conversation {
  readonly name: string;
  readonly messages: ChatMessage[];
  readonly tools?: unknown[];
}

export interface RenderCase {
  readonly template: string;
  readonly conversation: string;
  readonly add_generation_prompt: boolean;
  readonly expected?: string;
  readonly error?: string;
}

export const conversationsFile = JSON.parse(readFileSync(join(chatFixtures, 'conversations.json'), 'utf8')) as {
  readonly templates: Record<string, TemplateInfo>;
  readonly tool_templates: string[];
  readonly conversations: Conversation[];
};
export const casesFile = JSON.parse(readFileSync(join(chatFixtures, 'cases.json'), 'utf8')) as { readonly now: string; readonly cases: RenderCase[] };

export function templateSource(name: string): string {
  return readFileSync(join(chatFixtures, 'templates', `${name}.jinja`), 'utf8');
}

export function conversation(name: string): Conversation {
  const found = conversationsFile.conversations.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no conversation ${name}`);
  return found;
}

/** The metadata of a vendored, gzipped vocabulary GGUF (`qwen2`, `phi-3`). */
export async function vocabMetadata(name: string): Promise<ModelMetadata> {
  const bytes = gunzipSync(readFileSync(join(chatFixtures, `ggml-vocab-${name}.gguf.gz`)));
  const gguf = await openGguf(new MemoryByteSource(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  try {
    return gguf.metadata;
  } finally {
    await gguf.close();
  }
}
