import { describe, expect, it } from 'vitest';
import { bool, idOf, spmBaseTokens, vocabMetadata, type TestToken } from './test-vocab.js';
import { createTokenizer } from './tokenizer.js';

/** A tiny SPM vocabulary: base tokens plus a few pieces whose scores decide the merge order. */
function spmTokens(): TestToken[] {
  return [
    ...spmBaseTokens(),
    { text: '▁', score: -5 },
    { text: 'a', score: -6 },
    { text: 'b', score: -6 },
    { text: 'c', score: -6 },
    { text: '▁a', score: -2 },
    { text: 'ab', score: -1 },
    { text: 'bc', score: -0.5 },
    { text: 'abc', score: -0.1 },
    { text: 'aa', score: -3 },
    { text: '▁▁', score: -4 },
  ];
}

const tokens = spmTokens();
const id = (text: string) => idOf(tokens, text);
const tok = createTokenizer(vocabMetadata({ model: 'llama', tokens }));

describe('SPM tokenizer (tokenizer.ggml.model = llama)', () => {
  it('merges the best-scoring pair first: "abc" becomes ▁ + abc via bc, not ▁a + bc', () => {
    // Pairs of "▁abc": ▁a (-2), ab (-1), bc (-0.5). bc wins, then a+bc = abc (-0.1) beats ▁a.
    expect(tok.encode('abc', { addBos: false })).toEqual([id('▁'), id('abc')]);
  });

  it('breaks score ties by the leftmost pair', () => {
    expect(tok.encode('aaa', { addBos: false })).toEqual([id('▁a'), id('aa')]);
    // Without the space prefix the leftmost "aa" wins and the last "a" stays alone.
    const noPrefix = createTokenizer(vocabMetadata({ model: 'llama', tokens, extra: { 'tokenizer.ggml.add_space_prefix': bool(false) } }));
    expect(noPrefix.encode('aaa', { addBos: false })).toEqual([id('aa'), id('a')]);
  });

  it('writes spaces as U+2581 and prefixes one space at the start', () => {
    // "▁▁a": ▁a (-2) outscores ▁▁ (-4).
    expect(tok.encode(' a', { addBos: false })).toEqual([id('▁'), id('▁a')]);
    expect(tok.encode('  ', { addBos: false })).toEqual([id('▁▁'), id('▁')]); // tie: leftmost pair
    expect(tok.encode('a a', { addBos: false })).toEqual([id('▁a'), id('▁a')]);
  });

  it('falls back to <0xNN> byte tokens for characters that are not pieces', () => {
    // é = C3 A9; 😀 = F0 9F 98 80
    expect(tok.encode('é😀', { addBos: false })).toEqual([id('▁'), id('<0xC3>'), id('<0xA9>'), id('<0xF0>'), id('<0x9F>'), id('<0x98>'), id('<0x80>')]);
  });

  it('prepends BOS by default (SPM default, or tokenizer.ggml.add_bos_token) and encodes "" as just BOS', () => {
    expect(tok.addBos).toBe(true);
    expect(tok.encode('')).toEqual([1]);
    expect(tok.encode('a')).toEqual([1, id('▁a')]);
    const noBos = createTokenizer(vocabMetadata({ model: 'llama', tokens, extra: { 'tokenizer.ggml.add_bos_token': bool(false) } }));
    expect(noBos.encode('a')).toEqual([id('▁a')]);
  });

  it('decodes back to the text: ▁ as space, bytes reassembled, the prefix space removed once', () => {
    for (const text of ['abc', ' a', 'a a', 'é😀 x', '  leading and trailing  ']) {
      expect(tok.decode(tok.encode(text), { skipSpecial: true })).toBe(text);
      expect(tok.decode(tok.encode(text))).toBe(`<s>${text}`);
      expect(tok.decode(tok.encode(text, { addBos: false }))).toBe(text);
    }
  });

  it('stands in the unknown token for a byte without a byte token (llama.cpp would throw there)', () => {
    const noBytes = tokens.filter((t) => !t.text.startsWith('<0x'));
    const withUnk = createTokenizer(vocabMetadata({ model: 'llama', tokens: noBytes }));
    expect(withUnk.encode('éa', { addBos: false })).toEqual([idOf(noBytes, '▁'), 0, 0, idOf(noBytes, 'a')]);
  });

});
