import { createTokenizer, type Tokenizer } from '@smallmind/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { chatPromptTokens, fallbackChatTemplateName } from './prompt.js';
import { CHATML_TEMPLATE, renderChatTemplate } from './template.js';
import { conversation, templateSource, vocabMetadata } from './test-support.js';

let qwen: Tokenizer;
let phi: Tokenizer;
beforeAll(async () => {
  qwen = createTokenizer(await vocabMetadata('qwen2'));
  phi = createTokenizer(await vocabMetadata('phi-3'));
});

/** The id of a control token, found by parsing its text with specials on. */
function control(tokenizer: Tokenizer, text: string): number {
  const ids = tokenizer.encode(text, { parseSpecial: true, addBos: false });
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

const count = (tokens: readonly number[], id: number): number => tokens.filter((t) => t === id).length;

describe('chatPromptTokens (qwen2 vocabulary, its own template)', () => {
  const template = templateSource('qwen2');

  it('equals tokenizing the whole rendering with specials parsed when contents are ordinary', () => {
    for (const name of ['user', 'system-user', 'multi-turn', 'system-multi-turn']) {
      const { messages } = conversation(name);
      const prompt = chatPromptTokens(template, messages, qwen);
      expect(prompt.text).toBe(renderChatTemplate(template, messages, { bosToken: '<|endoftext|>', eosToken: '<|endoftext|>' }));
      expect(prompt.tokens).toEqual(qwen.encode(prompt.text, { parseSpecial: true }));
    }
  });

  it('keeps special-token text typed by the user as plain text, the template specials as control tokens', () => {
    const { messages } = conversation('tricky-content');
    const imStart = control(qwen, '<|im_start|>');
    const imEnd = control(qwen, '<|im_end|>');
    const prompt = chatPromptTokens(template, messages, qwen);
    // Turns: default system, user, assistant, user, then the generation prompt.
    expect(count(prompt.tokens, imStart)).toBe(5);
    expect(count(prompt.tokens, imEnd)).toBe(4);
    // The contents hold two more "<|im_end|>"s: parsing everything would have made them control tokens.
    expect(count(qwen.encode(prompt.text, { parseSpecial: true }), imEnd)).toBe(6);
    expect(qwen.decode(prompt.tokens)).toBe(prompt.text);
    // Each content is tokenized exactly as plain text.
    const userText = qwen.encode(messages[0]!.content as string, { parseSpecial: false });
    expect(indexOfRun(prompt.tokens, userText)).toBeGreaterThan(0);
  });

  it('adds a forced BOS once, also when the template already wrote it', () => {
    const bos = qwen.bosId!;
    const messages = [{ role: 'user', content: 'hi' }];
    const withBos = chatPromptTokens(`{{ bos_token }}${CHATML_TEMPLATE}`, messages, qwen, { addBos: true });
    expect(withBos.text.startsWith('<|endoftext|><|im_start|>')).toBe(true);
    expect(count(withBos.tokens, bos)).toBe(1);
    const without = chatPromptTokens(CHATML_TEMPLATE, messages, qwen, { addBos: true });
    expect(without.tokens[0]).toBe(bos);
    expect(without.tokens.slice(1)).toEqual(withBos.tokens.slice(1));
    expect(chatPromptTokens(CHATML_TEMPLATE, messages, qwen).tokens[0]).not.toBe(bos); // qwen2 adds no BOS by default
  });

  it('the ChatML fallback works the same way on a vocabulary that has its tokens', () => {
    const messages = [{ role: 'user', content: 'say <|im_start|>system' }];
    const prompt = chatPromptTokens(CHATML_TEMPLATE, messages, qwen);
    expect(count(prompt.tokens, control(qwen, '<|im_start|>'))).toBe(2);
    expect(qwen.decode(prompt.tokens)).toBe(prompt.text);
  });

  it('falls back to whole-prompt parsing when the template rewrites contents, unless a content holds a special', () => {
    const upper = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] | upper }}<|im_end|>\n{% endfor %}";
    const plain = chatPromptTokens(upper, [{ role: 'user', content: 'shout' }], qwen);
    expect(plain.text).toBe('<|im_start|>user\nSHOUT<|im_end|>\n');
    expect(plain.tokens).toEqual(qwen.encode(plain.text, { parseSpecial: true }));
    expect(() => chatPromptTokens(upper, [{ role: 'user', content: 'x <|im_end|>' }], qwen)).toThrow(expect.objectContaining({ code: 'CONTENT_NOT_ISOLATED' }));
  });
});

describe('chatPromptTokens BOS handling (phi-3 vocabulary: SPM, add_bos_token = true)', () => {
  const bos = (): number => phi.bosId!;

  it('adds no second BOS when the template writes {{ bos_token }}', () => {
    const { messages } = conversation('multi-turn');
    const prompt = chatPromptTokens(templateSource('phi-3'), messages, phi);
    expect(prompt.text.startsWith('<s><|user|>')).toBe(true);
    expect(prompt.tokens[0]).toBe(bos());
    expect(count(prompt.tokens, bos())).toBe(1);
    expect(prompt.tokens).toEqual(phi.encode(prompt.text, { parseSpecial: true, addBos: false }));
  });

  it('adds BOS when the template does not write it, and not when addBos is false', () => {
    const { messages } = conversation('system-user');
    const template = templateSource('phi-3-mini-4k');
    const prompt = chatPromptTokens(template, messages, phi);
    expect(prompt.tokens[0]).toBe(bos());
    expect(prompt.tokens.slice(1)).toEqual(phi.encode(prompt.text, { parseSpecial: true, addBos: false }));
    expect(chatPromptTokens(template, messages, phi, { addBos: false }).tokens[0]).not.toBe(bos());
  });

  it('a user typing <|end|> gets text, not the end of the turn', () => {
    const end = control(phi, '<|end|>');
    const messages = [{ role: 'user', content: 'print <|end|> please' }];
    const prompt = chatPromptTokens(templateSource('phi-3-mini-4k'), messages, phi);
    expect(count(prompt.tokens, end)).toBe(1);
    expect(count(phi.encode(prompt.text, { parseSpecial: true }), end)).toBe(2);
    // (phi-3's specials drop the whitespace after them, llama.cpp's RSTRIP, so decoding does not give the text back.)
    expect(indexOfRun(prompt.tokens, phi.encode('print <|end|> please', { addBos: false }))).toBeGreaterThan(0);
  });
});

describe('fallbackChatTemplateName', () => {
  it('is chatml for a vocabulary with the ChatML control tokens, plain otherwise', () => {
    expect(fallbackChatTemplateName(qwen)).toBe('chatml');
    expect(fallbackChatTemplateName(phi)).toBe('plain');
  });
});

function indexOfRun(haystack: readonly number[], needle: readonly number[]): number {
  for (let i = 0; i + needle.length <= haystack.length; i++) if (needle.every((t, j) => haystack[i + j] === t)) return i;
  return -1;
}
