import { describe, expect, it } from 'vitest';
import {
  AFMOE_DIGITS_PATTERN,
  GEMMA4_SPEC,
  GPT2_PATTERN,
  KIMI_K2_PATTERN,
  LLAMA3_PATTERN,
  QWEN2_PATTERN,
  QWEN35_PATTERN,
  preTokenizerSpec,
  splitWords,
  supportedPreTokenizers,
} from './pre-tokenizer.js';
import { codepointsOf } from './unicode.js';

function split(text: string, patterns: readonly string[]): string[] {
  const { cpts, utf16Offsets } = codepointsOf(text);
  return splitWords(text, cpts, utf16Offsets, patterns);
}

describe('GPT-2 scanner', () => {
  const gpt2 = (t: string) => split(t, [GPT2_PATTERN]);

  it('splits words with their leading space, numbers and punctuation runs', () => {
    expect(gpt2('Hello world')).toEqual(['Hello', ' world']);
    expect(gpt2("I've  got 123 apples!!")).toEqual(['I', "'ve", ' ', ' got', ' 123', ' apples', '!!']);
  });

  it('keeps trailing whitespace as one word and leaves the last space of a run to the next word', () => {
    expect(gpt2('a   ')).toEqual(['a', '   ']);
    expect(gpt2('a   b')).toEqual(['a', '  ', ' b']);
    expect(gpt2('a\n\nb')).toEqual(['a', '\n', '\n', 'b']);
  });

  it('matches contractions case-sensitively', () => {
    expect(gpt2("it's IT'S")).toEqual(['it', "'s", ' IT', "'", 'S']);
  });

  it("follows llama.cpp's classes, not JS's: U+FEFF is not whitespace, unassigned code points are symbols", () => {
    expect(gpt2('a\uFEFF\uFEFFb')).toEqual(['a', '\uFEFF\uFEFF', 'b']);
    expect(gpt2('x\u0378\u0379y')).toEqual(['x', '\u0378\u0379', 'y']);
    expect(gpt2('a\u3000b')).toEqual(['a', '\u3000', 'b']); // ideographic space is whitespace
  });
});

describe('Llama 3 scanner', () => {
  const llama3 = (t: string) => split(t, [LLAMA3_PATTERN]);

  it('groups digits by three and contractions case-insensitively', () => {
    expect(llama3('12345')).toEqual(['123', '45']);
    expect(llama3("IT'S it'll")).toEqual(['IT', "'S", ' it', "'ll"]);
  });

  it('lets one non-letter lead a word, except CR/LF and digits', () => {
    expect(llama3('\tword')).toEqual(['\tword']);
    expect(llama3('$x')).toEqual(['$x']);
    expect(llama3('1x')).toEqual(['1', 'x']);
    expect(llama3('\nx')).toEqual(['\n', 'x']);
  });

  it('attaches newlines to punctuation and keeps whitespace up to the last newline together', () => {
    expect(llama3('ab!?\n\ncd')).toEqual(['ab', '!?\n\n', 'cd']);
    expect(llama3('a \n x')).toEqual(['a', ' \n', ' x']);
    expect(llama3('a  b')).toEqual(['a', ' ', ' b']);
  });
});

describe('Qwen2 / Qwen 3.5 scanners', () => {
  it('Qwen2 splits every digit; a combining mark after a letter starts a new word', () => {
    expect(split('12345', [QWEN2_PATTERN])).toEqual(['1', '2', '3', '4', '5']);
    expect(split('e\u0301x', [QWEN2_PATTERN])).toEqual(['e', '\u0301x']);
  });

  it('Qwen 3.5 keeps combining marks inside letter runs, and a mark alone is not punctuation', () => {
    expect(split('e\u0301x', [QWEN35_PATTERN])).toEqual(['e\u0301x']);
    expect(split('\u0915\u093F \u0915', [QWEN35_PATTERN])).toEqual(['\u0915\u093F', ' \u0915']);
    expect(split('!\u0301', [QWEN35_PATTERN])).toEqual(['!\u0301']);
  });
});

describe('Kimi K2 scanner', () => {
  const k2 = (t: string) => split(t, [KIMI_K2_PATTERN]);

  it('cuts Han runs out of letter words and keeps a trailing contraction with its word', () => {
    expect(k2('abc\u4E2D\u6587def')).toEqual(['abc', '\u4E2D\u6587', 'def']);
    expect(k2("it's DON'T")).toEqual(["it's", " DON'T"]);
    expect(k2(' \u4E2D')).toEqual([' ', '\u4E2D']);
  });

  it('groups digits by three and attaches newlines to punctuation', () => {
    expect(k2('1234567')).toEqual(['123', '456', '7']);
    expect(k2('a!?\n\nb')).toEqual(['a', '!?\n\n', 'b']);
  });
});

describe('AFMoE digit scanner', () => {
  it('cuts a leading 1-2 digits, then groups of three; text before digits joins the first group', () => {
    expect(split('1234567', [AFMOE_DIGITS_PATTERN])).toEqual(['1', '234', '567']);
    expect(split('123456', [AFMOE_DIGITS_PATTERN])).toEqual(['123', '456']);
    expect(split('ab12cd', [AFMOE_DIGITS_PATTERN])).toEqual(['ab12', 'cd']);
  });
});

describe('collapsed regex rules (categories on non-ASCII text)', () => {
  const qwen2 = (t: string) => split(t, [QWEN2_PATTERN]);

  it('splits every digit and treats non-ASCII letters as letters', () => {
    expect(qwen2('12345')).toEqual(['1', '2', '3', '4', '5']);
    expect(qwen2('über café')).toEqual(['über', ' café']);
  });

  it('treats non-ASCII whitespace as whitespace and other code points as non-letters', () => {
    expect(qwen2('a\u3000b')).toEqual(['a', '\u3000b']);
    expect(qwen2('a\u0378\u0379 b')).toEqual(['a', '\u0378\u0379', ' b']);
    expect(qwen2('x😀😀\n\ny')).toEqual(['x', '😀😀\n\n', 'y']);
  });

  it("applies several rules in sequence, each refining the previous rule's words (default rules)", () => {
    const spec = preTokenizerSpec(undefined);
    expect(split('Hello, world! 12345', spec?.patterns ?? [])).toEqual(['Hello', ',', ' world', '!', ' ', '123', '45']);
  });
});

describe('pattern rules without categories (code points, ASCII \\s)', () => {
  it('Gemma 4 keeps lines whole and cuts out newline runs', () => {
    expect(split('a b\n\nc d\n', GEMMA4_SPEC.patterns)).toEqual(['a b', '\n\n', 'c d', '\n']);
  });

  it('SuperBPE: an empty lookahead match still cuts the digits into groups of three from the right', () => {
    expect(split('x 1234567 y', preTokenizerSpec('superbpe')?.patterns ?? [])).toEqual(['x ', '1', '234', '567', ' y']);
  });

  it('Jais 2: long whitespace runs are cut into power-of-two chunks', () => {
    const words = split(`a${' '.repeat(21)}b`, preTokenizerSpec('jais-2')?.patterns ?? []);
    expect(words).toEqual(['a', ' '.repeat(16), ' '.repeat(4), ' b']);
  });

  it('DeepSeek LLM: \\s only means ASCII whitespace after non-ASCII spaces became \\x0B', () => {
    const spec = preTokenizerSpec('deepseek-llm');
    // "\s?[letters]+" takes U+3000 as the optional space since it is whitespace for llama.cpp.
    expect(split('ab\u3000cd', spec?.patterns ?? [])).toEqual(['ab', '\u3000cd']);
    // U+FEFF is not whitespace, so it does not join the following word.
    expect(split('ab\uFEFFcd', spec?.patterns ?? [])).toEqual(['ab', '\uFEFF', 'cd']);
  });
});

describe('pre-tokenizer table', () => {
  const sample = "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～ \u3000\t\r\n  нещо 3.14 ﻿x\u0378";

  it.each(supportedPreTokenizers())('%s: compiles and its words concatenate back to the text', (name) => {
    const spec = preTokenizerSpec(name);
    expect(spec).toBeDefined();
    const words = split(sample, spec?.patterns ?? []);
    expect(words.join('')).toBe(sample);
    expect(words.every((w) => w.length > 0)).toBe(true);
  });

  it('maps a missing or empty name to the default rules and rejects unknown names', () => {
    expect(preTokenizerSpec(undefined)).toBe(preTokenizerSpec('default'));
    expect(preTokenizerSpec('')).toBe(preTokenizerSpec('default'));
    expect(preTokenizerSpec('no-such-pre')).toBeUndefined();
  });

  it('only Llama 3 style vocabularies ignore merges for whole-token words and default to BOS', () => {
    expect(preTokenizerSpec('llama-bpe')).toMatchObject({ ignoreMerges: true, addBos: true, byteLevel: true });
    expect(preTokenizerSpec('qwen2')).toMatchObject({ ignoreMerges: false, addBos: false });
    expect(preTokenizerSpec('gemma4')).toMatchObject({ byteLevel: false, escapeWhitespace: true, gemma4: true });
    expect(preTokenizerSpec('tekken')).toMatchObject({ ignoreMerges: true, addBos: true });
    expect(preTokenizerSpec('chatglm-bpe')).toMatchObject({ noDefaultBos: true });
    expect(preTokenizerSpec('whitespace')).toMatchObject({ byteLevel: false, escapeWhitespace: false });
  });

  it("accepts every name of llama.cpp's list, names of one type sharing one spec", () => {
    for (const name of ['qwen35', 'deepseek-v3', 'tekken', 'poro-chat', 'viking', 'exaone-moe', 'gpt-4o', 'superbpe', 'bailingmoe2', 'seed-coder', 'kimi-k2', 'hunyuan-dense', 'afmoe', 'laguna', 'mellum2']) {
      expect(preTokenizerSpec(name), name).toBeDefined();
    }
    expect(preTokenizerSpec('llama4')).toBe(preTokenizerSpec('gpt-4o'));
    expect(preTokenizerSpec('megrez')).toBe(preTokenizerSpec('qwen2'));
  });
});
