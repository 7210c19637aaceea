import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MemoryByteSource, openGguf } from '@smallmind/io-gguf';
import { describe, expect, it } from 'vitest';
import { ChatTemplateError } from './errors.js';
import { strftime } from './strftime.js';
import { CHATML_TEMPLATE, PLAIN_TEMPLATE, renderChatTemplate, selectChatTemplate } from './template.js';
import { casesFile, chatFixtures, conversation, conversationsFile, templateSource } from './test-support.js';

// cases.json was rendered by Python's jinja2 with strftime_now frozen at this local time (render.py).
const now = new Date(casesFile.now);

describe('renderChatTemplate against jinja2 (transformers settings)', () => {
  const { cases } = casesFile;

  it('covers every template with several conversations, both generation-prompt settings and raise_exception', () => {
    expect(new Set(cases.map((c) => c.template))).toEqual(new Set(Object.keys(conversationsFile.templates)));
    expect(cases.length).toBeGreaterThanOrEqual(100);
    expect(cases.filter((c) => c.error !== undefined).length).toBeGreaterThan(0);
  });

  it.each(cases.map((c) => [`${c.template} / ${c.conversation} / generation prompt ${c.add_generation_prompt}`, c] as const))('%s', (_, c) => {
    const info = conversationsFile.templates[c.template]!;
    const { messages, tools } = conversation(c.conversation);
    const render = (): string =>
      renderChatTemplate(templateSource(c.template), messages, {
        addGenerationPrompt: c.add_generation_prompt,
        bosToken: info.bos_token,
        eosToken: info.eos_token,
        ...(tools === undefined ? {} : { tools }),
        now,
      });
    if (c.error !== undefined) {
      expect(render).toThrow(expect.objectContaining({ name: 'ChatTemplateError', code: 'TEMPLATE_RAISED', message: c.error }));
    } else {
      expect(render()).toBe(c.expected);
    }
  });
});

describe('renderChatTemplate errors and variables', () => {
  const hello = [{ role: 'user', content: 'hi' }];

  it('a template that does not parse, or fails while rendering, is a typed error', () => {
    expect(() => renderChatTemplate('{% for m in messages %}', hello)).toThrow(expect.objectContaining({ code: 'TEMPLATE_SYNTAX', field: 'template' }));
    expect(() => renderChatTemplate('{{ messages | no_such_filter }}', hello)).toThrow(ChatTemplateError);
    expect(() => renderChatTemplate('{% for i in range(10000000) %}{% endfor %}', hello)).toThrow(expect.objectContaining({ code: 'TEMPLATE_RENDER' }));
  });

  it('rejects malformed messages, naming the field', () => {
    expect(() => renderChatTemplate(CHATML_TEMPLATE, [{ role: 'user' }] as never)).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE', field: 'messages[0].content' }));
    expect(() => renderChatTemplate(CHATML_TEMPLATE, [{ role: '', content: 'x' }])).toThrow(expect.objectContaining({ field: 'messages[0].role' }));
    expect(() => renderChatTemplate(CHATML_TEMPLATE, 'hi' as never)).toThrow(expect.objectContaining({ field: 'messages' }));
  });

  it('passes extra variables, range() and python-style constants', () => {
    const template = '{% if flag %}{% for i in range(1, 7, 2) %}{{ i }}{% endfor %}{% endif %}{{ None is none }}';
    expect(renderChatTemplate(template, hello, { variables: { flag: true } })).toBe('135true');
  });

  it('strftime_now formats the clock like Python', () => {
    const date = new Date(2024, 6, 4, 15, 5, 9);
    expect(strftime(date, '%d %b %Y')).toBe('04 Jul 2024');
    expect(strftime(date, '%A %B %e, %I:%M:%S %p (%H, %y, day %j) 100%%')).toBe('Thursday July  4, 03:05:09 PM (15, 24, day 186) 100%');
    expect(renderChatTemplate('{{ strftime_now("%Y-%m-%d") }}', hello, { now: date })).toBe('2024-07-04');
  });
});

describe('fallback templates', () => {
  const chat = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
  ];

  it('chatml and the plain transcript render every turn and the generation prompt', () => {
    expect(renderChatTemplate(CHATML_TEMPLATE, chat)).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    expect(renderChatTemplate(PLAIN_TEMPLATE, chat)).toBe('System: Be brief.\n\nUser: Hi\n\nAssistant:');
    expect(renderChatTemplate(PLAIN_TEMPLATE, chat, { addGenerationPrompt: false })).toBe('System: Be brief.\n\nUser: Hi\n\n');
  });

  it('selectChatTemplate: an override (name or text) beats the model template, which beats the fallback', () => {
    expect(selectChatTemplate('MODEL', 'plain')).toBe(PLAIN_TEMPLATE);
    expect(selectChatTemplate('MODEL', '{{ x }}')).toBe('{{ x }}');
    expect(selectChatTemplate('MODEL')).toBe('MODEL');
    expect(selectChatTemplate(undefined)).toBe(CHATML_TEMPLATE);
    expect(selectChatTemplate(undefined, undefined, 'plain')).toBe(PLAIN_TEMPLATE);
  });
});

// Provenance: the committed copies equal the templates inside the workplace's vocab GGUFs (when that set is present).
const sharedVocab = join(chatFixtures, '..', '..', '..', 'shared', 'fixtures', 'vocab');
describe.skipIf(!existsSync(sharedVocab))('templates taken from ../shared/fixtures/vocab', () => {
  it.each(['qwen2', 'phi-3', 'gemma-4'])('%s.jinja is the GGUF tokenizer.chat_template byte for byte', async (name) => {
    const bytes = gunzipSync(readFileSync(join(sharedVocab, `ggml-vocab-${name}.gguf.gz`)));
    const gguf = await openGguf(new MemoryByteSource(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    try {
      expect(gguf.metadata.getString('tokenizer.chat_template')).toBe(templateSource(name));
    } finally {
      await gguf.close();
    }
  });
});
