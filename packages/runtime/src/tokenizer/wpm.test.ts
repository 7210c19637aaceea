import { describe, expect, it } from 'vitest';
import { bool, u32, vocabMetadata, type TestToken } from './test-vocab.js';
import { createTokenizer } from './tokenizer.js';
import { TokenType } from './vocabulary.js';

/** A BERT-style vocabulary as llama.cpp's converter writes it: word-initial pieces carry U+2581, "##" is gone. */
const TOKENS: TestToken[] = [
  { text: '[PAD]', type: TokenType.CONTROL },
  { text: '[UNK]', type: TokenType.UNKNOWN },
  { text: '[CLS]', type: TokenType.CONTROL },
  { text: '[SEP]', type: TokenType.CONTROL },
  ...['▁hello', '▁hell', 'o', '▁wor', 'ld', '▁!', '▁cafe', '▁中', '▁文', '▁ab', '▁Hello'].map((text) => ({ text })),
];
const id = (text: string) => TOKENS.findIndex((t) => t.text === text);
const SPECIAL_IDS = { 'tokenizer.ggml.bos_token_id': u32(2), 'tokenizer.ggml.unknown_token_id': u32(1), 'tokenizer.ggml.seperator_token_id': u32(3) };
const wpm = (extra = {}) => createTokenizer(vocabMetadata({ model: 'bert', tokens: TOKENS, extra: { ...SPECIAL_IDS, ...extra } }));
const plain = { addBos: false, addSep: false } as const;

describe('WPM (tokenizer.ggml.model = bert)', () => {
  it('lowercases, splits punctuation off and takes the longest piece first', () => {
    const tok = wpm();
    expect(tok.kind).toBe('wpm');
    expect(tok.encode('Hello world!', plain)).toEqual([id('▁hello'), id('▁wor'), id('ld'), id('▁!')]);
  });

  it('frames the text as [CLS] ... [SEP] by default, like llama.cpp with special tokens', () => {
    const tok = wpm();
    expect(tok.addBos).toBe(true);
    expect(tok.addSep).toBe(true);
    expect(tok.encode('hello')).toEqual([2, id('▁hello'), 3]);
  });

  it('strips accents (NFD) and drops control characters', () => {
    expect(wpm().encode('Café hel\u0007lo', plain)).toEqual([id('▁cafe'), id('▁hello')]);
  });

  it('makes each CJK ideograph a word of its own', () => {
    expect(wpm().encode('中文', plain)).toEqual([id('▁中'), id('▁文')]);
  });

  it('gives a word with an unmatched rest a single [UNK]', () => {
    expect(wpm().encode('abc hello', plain)).toEqual([1, id('▁hello')]);
  });

  it('honours tokenizer.ggml.normalizer.lowercase = false (and strip_accents follows it)', () => {
    const tok = wpm({ 'tokenizer.ggml.normalizer.lowercase': bool(false) });
    expect(tok.encode('Hello café', plain)).toEqual([id('▁Hello'), 1]);
    const stripped = wpm({ 'tokenizer.ggml.normalizer.lowercase': bool(false), 'tokenizer.ggml.normalizer.strip_accents': bool(true) });
    expect(stripped.encode('café', plain)).toEqual([id('▁cafe')]);
  });

  it('renders pieces with the phantom space as a real space', () => {
    const tok = wpm();
    expect(tok.tokenToPiece(id('▁hello'))).toBe(' hello');
    expect(tok.decode([2, id('▁hello'), id('▁wor'), id('ld'), 3], { skipSpecial: true })).toBe(' hello world');
  });
});
