import { describe, expect, it } from 'vitest';
import { bool, idOf, spmBaseTokens, str, vocabMetadata, type TestToken } from './test-vocab.js';
import { createTokenizer } from './tokenizer.js';
import { byteOfAlphabetChar } from './unicode.js';
import { TokenType } from './vocabulary.js';

/** The 256 GPT-2 alphabet characters (one token per byte) plus a few merged pieces. */
function byteLevelTokens(extra: readonly string[]): TestToken[] {
  const tokens: TestToken[] = [];
  for (let cp = 0; cp < 0x200; cp++) if (byteOfAlphabetChar(cp) !== undefined) tokens.push({ text: String.fromCodePoint(cp) });
  return [...tokens, ...extra.map((text) => ({ text }))];
}

const MERGES = ['h e', 'l l', 'he ll', 'hell o', 'o r', 'Ġ w', 'Ġw or', 'l d', 'Ġwor ld'];
const tokens = byteLevelTokens(['he', 'll', 'hell', 'hello', 'or', 'Ġw', 'Ġwor', 'ld', 'Ġworld', 'Ġhe']);
const id = (text: string) => idOf(tokens, text);
const gpt2 = (pre: string, extraTokens: readonly TestToken[] = tokens) =>
  createTokenizer(vocabMetadata({ model: 'gpt2', tokens: extraTokens, merges: MERGES, extra: { 'tokenizer.ggml.pre': str(pre) } }));

describe('byte-level BPE (tokenizer.ggml.model = gpt2)', () => {
  const tok = gpt2('gpt-2');

  it('applies merges in rank order within each pre-tokenized word', () => {
    // "Ġworld": o+r (rank 4) first, then Ġ+w (5), Ġw+or (6), l+d (7), Ġwor+ld (8).
    expect(tok.encode('hello world')).toEqual([id('hello'), id('Ġworld')]);
    expect(tok.encode('world')).toEqual([id('w'), id('or'), id('ld')]);
  });

  it('breaks rank ties by the leftmost pair', () => {
    expect(tok.encode('lll')).toEqual([id('ll'), id('l')]);
    expect(tok.encode('llll')).toEqual([id('ll'), id('ll')]);
  });

  it('encodes every byte through the GPT-2 alphabet (é is C3 A9 -> "Ã", "©")', () => {
    expect(tok.encode('é\n')).toEqual([id('Ã'), id('©'), id('Ċ')]);
  });

  it('only ignores merges for whole-token words with Llama 3 rules', () => {
    // No merge makes "Ġhe" from "Ġ" + "he", so only ignore_merges can produce it.
    expect(tok.encode(' he')).toEqual([id('Ġ'), id('he')]);
    expect(gpt2('llama-bpe').encode(' he', { addBos: false })).toEqual([id('Ġhe')]);
  });

  it('drops a byte whose alphabet character is missing from the vocabulary, as llama.cpp does', () => {
    const withoutA = tokens.filter((t) => t.text !== 'Ã');
    expect(gpt2('gpt-2', withoutA).encode('é')).toEqual([idOf(withoutA, '©')]);
  });

  it('decodes the alphabet back to bytes and round-trips any text', () => {
    for (const text of ['hello world', 'héllo\n\tworld 😀', '  ', "it's 3.14!"]) expect(tok.decode(tok.encode(text))).toBe(text);
  });

  it('defaults: no BOS for gpt2 rules, BOS for Llama 3 rules; ids 11 when the file names none', () => {
    expect(tok.addBos).toBe(false);
    expect(tok.bosId).toBe(11);
    expect(tok.eosId).toBe(11);
    const llama3 = gpt2('llama-bpe');
    expect(llama3.addBos).toBe(true);
    expect(llama3.encode('he')).toEqual([11, id('he')]);
  });
});

describe('SentencePiece-style BPE (tokenizer.ggml.model = gemma4)', () => {
  const gemmaTokens: TestToken[] = [
    { text: '<pad>', type: TokenType.CONTROL },
    { text: '<eos>', type: TokenType.CONTROL },
    { text: '<bos>', type: TokenType.CONTROL },
    ...spmBaseTokens().slice(3),
    ...['▁', 'h', 'i', 'hi', '▁hi', '\n', '\n\n'].map((text) => ({ text })),
  ];
  const gid = (text: string) => idOf(gemmaTokens, text);
  const gemma = createTokenizer(
    vocabMetadata({
      model: 'gemma4',
      tokens: gemmaTokens,
      merges: ['h i', '▁ hi'],
      extra: {
        'tokenizer.ggml.bos_token_id': { type: 4, value: 2 },
        'tokenizer.ggml.eos_token_id': { type: 4, value: 1 },
        'tokenizer.ggml.add_bos_token': bool(false),
      },
    }),
  );

  it('writes spaces as ▁ and merges over the whole line (no word splitting)', () => {
    expect(gemma.encode('hi hi', { addBos: false })).toEqual([gid('hi'), gid('▁hi')]);
  });

  it('emits a run of newlines that is a token whole, and splits other runs per newline', () => {
    expect(gemma.encode('hi\n\nhi', { addBos: false })).toEqual([gid('hi'), gid('\n\n'), gid('hi')]);
    expect(gemma.encode('\n\n\n', { addBos: false })).toEqual([gid('\n'), gid('\n'), gid('\n')]);
  });

  it('falls back to <0xNN> tokens and decodes ▁ back to spaces', () => {
    expect(gemma.encode('é', { addBos: false })).toEqual([gid('<0xC3>'), gid('<0xA9>')]);
    expect(gemma.decode(gemma.encode('hi é hi\n\n'), { skipSpecial: true })).toBe('hi é hi\n\n');
  });

  it('always adds BOS (llama.cpp overrides add_bos_token = false for Gemma 4) and ends on <eos>', () => {
    expect(gemma.addBos).toBe(true);
    expect(gemma.encode('hi')).toEqual([2, gid('hi')]);
    expect(gemma.isEndOfGeneration(1)).toBe(true);
  });
});
