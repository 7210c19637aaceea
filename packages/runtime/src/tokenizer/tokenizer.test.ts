import { ModelMetadata } from '@smallmind/io-smq';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from './errors.js';
import { bool, f32s, idOf, spmBaseTokens, str, strings, u32, vocabMetadata, type TestToken } from './test-vocab.js';
import { createTokenizer } from './tokenizer.js';
import { TokenType } from './vocabulary.js';

const SPM_PIECES: TestToken[] = [
  ...spmBaseTokens(),
  ...['▁', 'a', 'b', '▁a', '▁b', '▁▁'].map((text) => ({ text, score: -text.length })),
];
const spm = (tokens: readonly TestToken[], extra = {}) => createTokenizer(vocabMetadata({ model: 'llama', tokens, extra }));

/** ASCII-only byte-level vocabulary (printable bytes, Ġ for space) plus special tokens. */
function asciiBpeTokens(specials: readonly TestToken[]): TestToken[] {
  const tokens: TestToken[] = [];
  for (let b = 0x21; b <= 0x7e; b++) tokens.push({ text: String.fromCharCode(b) });
  tokens.push({ text: 'Ġ' });
  return [...tokens, ...specials];
}
const bpe = (tokens: readonly TestToken[], extra = {}) =>
  createTokenizer(vocabMetadata({ model: 'gpt2', tokens, merges: [], extra: { 'tokenizer.ggml.pre': str('gpt-2'), ...extra } }));

function thrown(fn: () => unknown): TokenizerError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TokenizerError) return e;
    throw e;
  }
  throw new Error('expected a TokenizerError');
}

describe('special tokens in the text', () => {
  const specials: TestToken[] = [
    { text: '<|endoftext|>', type: TokenType.CONTROL },
    { text: '<|user|>', type: TokenType.USER_DEFINED },
    { text: '<|u', type: TokenType.USER_DEFINED },
  ];
  const tokens = asciiBpeTokens(specials);
  const id = (t: string) => idOf(tokens, t);
  const tok = bpe(tokens);
  const chars = (s: string) => [...s].map(id);

  it('recognises control tokens only with parseSpecial', () => {
    expect(tok.encode('a<|endoftext|>b')).toEqual(chars('a<|endoftext|>b'));
    expect(tok.encode('a<|endoftext|>b', { parseSpecial: true })).toEqual([id('a'), id('<|endoftext|>'), id('b')]);
  });

  it('always cuts out user-defined tokens, longest first', () => {
    expect(tok.encode('x<|user|>y')).toEqual([id('x'), id('<|user|>'), id('y')]);
    expect(tok.encode('<|user|><|u')).toEqual([id('<|user|>'), id('<|u')]);
  });

  it('gives SPM text after a special token its own leading space', () => {
    const t = spm(SPM_PIECES);
    expect(t.encode('a<s>a', { addBos: false, parseSpecial: true })).toEqual([idOf(SPM_PIECES, '▁a'), 1, idOf(SPM_PIECES, '▁a')]);
  });

  it("strips whitespace after Phi-3's special tokens (RSTRIP), chosen by general.name", () => {
    const pieces = [...SPM_PIECES, { text: '<|placeholder|>', type: TokenType.USER_DEFINED }];
    const a = idOf(pieces, '▁a');
    const b = idOf(pieces, '▁b');
    const placeholder = pieces.length - 1;
    expect(spm(pieces, { 'general.name': str('Phi3') }).encode('a<|placeholder|>  b', { addBos: false })).toEqual([a, placeholder, b]);
    // Elsewhere the spaces stay: "  b" after a special becomes "▁▁▁b".
    expect(spm(pieces).encode('a<|placeholder|>  b', { addBos: false })).toEqual([a, placeholder, idOf(pieces, '▁▁'), b]);
  });
});

describe('special ids and end of generation', () => {
  it('recognises EOT by its text, preferring <|im_end|> over <|endoftext|>, and forces it to CONTROL', () => {
    const tokens = asciiBpeTokens([
      { text: '<|endoftext|>', type: TokenType.CONTROL },
      { text: '<|im_end|>', type: TokenType.USER_DEFINED },
    ]);
    const eos = idOf(tokens, '<|endoftext|>');
    const imEnd = idOf(tokens, '<|im_end|>');
    const tok = bpe(tokens, { 'tokenizer.ggml.eos_token_id': u32(eos) });
    expect(tok.eotId).toBe(imEnd);
    expect(tok.isEndOfGeneration(eos)).toBe(true);
    expect(tok.isEndOfGeneration(imEnd)).toBe(true);
    expect(tok.isEndOfGeneration(idOf(tokens, 'a'))).toBe(false);
    // Now CONTROL: plain text unless parseSpecial.
    expect(tok.encode('<|im_end|>')).toHaveLength('<|im_end|>'.length);
    expect(tok.encode('<|im_end|>', { parseSpecial: true })).toEqual([imEnd]);
  });

  it('takes eot_token_id from metadata over text detection, and ignores ids outside the vocabulary', () => {
    const tokens = asciiBpeTokens([{ text: '<|im_end|>', type: TokenType.CONTROL }]);
    const tok = bpe(tokens, { 'tokenizer.ggml.eot_token_id': u32(5), 'tokenizer.ggml.bos_token_id': u32(4294967295) });
    expect(tok.eotId).toBe(5);
    expect(tok.bosId).toBe(11); // the gpt2 default survives an out-of-range id
  });

  it('reads add_bos_token / add_eos_token and adds EOS at the end', () => {
    const tok = spm(SPM_PIECES, { 'tokenizer.ggml.add_eos_token': bool(true) });
    expect(tok.addEos).toBe(true);
    expect(tok.encode('a')).toEqual([1, idOf(SPM_PIECES, '▁a'), 2]);
    expect(tok.encode('a', { addBos: false, addEos: false })).toEqual([idOf(SPM_PIECES, '▁a')]);
  });
});

describe('per-file tokenizer flags', () => {
  const tokens = asciiBpeTokens([]);
  const withPre = (pre: string, extra = {}) => bpe(tokens, { 'tokenizer.ggml.pre': str(pre), ...extra });

  it("start from the pre-tokenizer's defaults: Llama 3 adds BOS, GPT-2 does not", () => {
    expect(withPre('llama3').addBos).toBe(true);
    expect(withPre('gpt-2').addBos).toBe(false);
    expect(withPre('llama3').encode('a')).toEqual([11, idOf(tokens, 'a')]);
  });

  it('add_bos_token / add_eos_token in the file override those defaults', () => {
    const noBos = withPre('llama3', { 'tokenizer.ggml.add_bos_token': bool(false) });
    expect(noBos.encode('a')).toEqual([idOf(tokens, 'a')]);
    const both = withPre('gpt-2', { 'tokenizer.ggml.add_bos_token': bool(true), 'tokenizer.ggml.add_eos_token': bool(true) });
    expect(both.encode('a')).toEqual([11, idOf(tokens, 'a'), 11]);
  });

  it('ChatGLM has no default BOS, only one the file names', () => {
    expect(withPre('chatglm-bpe').bosId).toBeUndefined();
    expect(withPre('glm4', { 'tokenizer.ggml.bos_token_id': u32(3) }).bosId).toBe(3);
  });

  it('add_space_prefix = false stops SPM from putting a space before the text (and decode from removing one)', () => {
    const spaced = spm(SPM_PIECES);
    const unspaced = spm(SPM_PIECES, { 'tokenizer.ggml.add_space_prefix': bool(false) });
    expect(spaced.encode('a', { addBos: false })).toEqual([idOf(SPM_PIECES, '▁a')]);
    expect(unspaced.encode('a', { addBos: false })).toEqual([idOf(SPM_PIECES, 'a')]);
    expect(unspaced.decode([idOf(SPM_PIECES, '▁a')])).toBe(' a');
    expect(spaced.decode([idOf(SPM_PIECES, '▁a')])).toBe('a');
  });

  it('Kimi K2 vocabularies may come without merges; other BPE files may not', () => {
    const tok = createTokenizer(vocabMetadata({ model: 'gpt2', tokens, extra: { 'tokenizer.ggml.pre': str('kimi-k2') } }));
    expect(tok.encode('ab')).toEqual([idOf(tokens, 'a'), idOf(tokens, 'b')]);
    expect(thrown(() => createTokenizer(vocabMetadata({ model: 'gpt2', tokens, extra: { 'tokenizer.ggml.pre': str('qwen2') } })))).toMatchObject({ code: 'MISSING_KEY' });
  });

  it('the whitespace model drops whitespace and encodes each run alone, without lowercasing by default', () => {
    const tok = createTokenizer(vocabMetadata({ model: 'whitespace', tokens, merges: [], extra: { 'tokenizer.ggml.pre': str('whitespace') } }));
    expect(tok.encode('A  b\tc')).toEqual(['A', 'b', 'c'].map((t) => idOf(tokens, t)));
    const lower = createTokenizer(
      vocabMetadata({ model: 'whitespace', tokens, merges: [], extra: { 'tokenizer.ggml.pre': str('whitespace'), 'tokenizer.ggml.normalizer.lowercase': bool(true) } }),
    );
    expect(lower.encode('A')).toEqual([idOf(tokens, 'a')]);
  });
});

describe('decoding', () => {
  const tok = spm(SPM_PIECES);
  const a = idOf(SPM_PIECES, '▁a');

  it('renders control and unknown tokens unless skipSpecial', () => {
    expect(tok.decode([1, a, 0, 2])).toBe('<s>a<unk></s>');
    expect(tok.decode([1, a, 0, 2], { skipSpecial: true })).toBe('a');
  });

  it('renders single pieces like llama.cpp token_to_piece: ▁ as space, a lone byte as U+FFFD', () => {
    expect(tok.tokenToPiece(a)).toBe(' a');
    expect(tok.tokenToPiece(1)).toBe('<s>');
    expect(tok.tokenToPiece(idOf(SPM_PIECES, '<0x41>'))).toBe('A');
    expect(tok.tokenToPiece(idOf(SPM_PIECES, '<0xF0>'))).toBe('\uFFFD');
    expect([...tok.tokenToPieceBytes(idOf(SPM_PIECES, '<0xF0>'))]).toEqual([0xf0]);
    expect([...tok.tokenToPieceBytes(a)]).toEqual([0x20, 0x61]);
  });

  it('streams without splitting a character across byte tokens', () => {
    const ids = tok.encode('a😀b', { addBos: false });
    const stream = tok.createStreamDecoder();
    const outputs = ids.map((i) => stream.push(i));
    // ▁a, then F0 9F 98 80 (nothing until the last byte), then b.
    expect(outputs).toEqual([' a', '', '', '', '😀', 'b']);
    expect(stream.flush()).toBe('');
    stream.push(idOf(SPM_PIECES, '<0xF0>'));
    expect(stream.flush()).toBe('\uFFFD');
  });

  it('keeps a leading U+FEFF in a piece (it is text, not a byte-order mark)', () => {
    const tokens = asciiBpeTokens([{ text: '\uFEFF//', type: TokenType.USER_DEFINED }]);
    const t = bpe(tokens);
    expect(t.decode(t.encode('\uFEFF//x'))).toBe('\uFEFF//x');
    expect(t.tokenToPiece(idOf(tokens, '\uFEFF//'))).toBe('\uFEFF//');
  });

  it('treats a lone surrogate like U+FFFD (what UTF-8 makes of it)', () => {
    expect(tok.encode('\uD800', { addBos: false })).toEqual(tok.encode('\uFFFD', { addBos: false }));
  });
});

describe('bad metadata and bad input', () => {
  const base = (extra: Record<string, unknown> = {}) => ({ model: 'llama', tokens: SPM_PIECES, ...extra });

  it('names a missing or mistyped key', () => {
    expect(thrown(() => createTokenizer(new ModelMetadata([])))).toMatchObject({ code: 'MISSING_KEY', field: 'tokenizer.ggml.model' });
    const mistyped = new ModelMetadata([
      ['tokenizer.ggml.model', str('llama')],
      ['tokenizer.ggml.tokens', str('not an array')],
    ]);
    expect(thrown(() => createTokenizer(mistyped))).toMatchObject({ code: 'INVALID_METADATA', field: 'tokenizer.ggml.tokens' });
    expect(thrown(() => createTokenizer(vocabMetadata({ model: 'gpt2', tokens: SPM_PIECES })))).toMatchObject({ code: 'MISSING_KEY', field: 'tokenizer.ggml.merges' });
  });

  it('rejects unsupported tokenizer families and pre-tokenizers', () => {
    const model = thrown(() => createTokenizer(vocabMetadata(base({ model: 't5' }))));
    expect(model).toMatchObject({ code: 'UNSUPPORTED_MODEL', field: 'tokenizer.ggml.model' });
    expect(model.message).toContain('"t5"');
    expect(model.message).toContain('bert (WPM)');
    const e = thrown(() => bpe(asciiBpeTokens([]), { 'tokenizer.ggml.pre': str('made-up') }));
    expect(e).toMatchObject({ code: 'UNSUPPORTED_PRE_TOKENIZER', field: 'tokenizer.ggml.pre' });
    expect(e.message).toContain('made-up');
    // The message lists what is supported, so a user can see the nearest valid name.
    for (const name of ['llama3', 'qwen35', 'kimi-k2', 'superbpe']) expect(e.message).toContain(name);
  });

  it('rejects duplicate tokens, short score arrays and an empty vocabulary', () => {
    const dup = [...SPM_PIECES, { text: '▁a' }];
    expect(thrown(() => spm(dup))).toMatchObject({ code: 'DUPLICATE_TOKEN', field: `tokenizer.ggml.tokens[${dup.length - 1}]` });
    const short = new ModelMetadata([
      ['tokenizer.ggml.model', str('llama')],
      ['tokenizer.ggml.tokens', strings(['a', 'b'])],
      ['tokenizer.ggml.scores', f32s([0])],
    ]);
    expect(thrown(() => createTokenizer(short))).toMatchObject({ code: 'INVALID_METADATA', field: 'tokenizer.ggml.scores' });
    expect(thrown(() => spm([]))).toMatchObject({ code: 'INVALID_METADATA', field: 'tokenizer.ggml.tokens' });
  });

  it('refuses add_bos_token = true without a BOS token, and BOS on request when there is none', () => {
    const tiny = asciiBpeTokens([]).slice(0, 5); // the gpt2 default BOS id 11 is outside it
    expect(thrown(() => bpe(tiny, { 'tokenizer.ggml.add_bos_token': bool(true) }))).toMatchObject({ code: 'INVALID_METADATA', field: 'tokenizer.ggml.add_bos_token' });
    const tok = bpe(tiny);
    expect(tok.bosId).toBeUndefined();
    expect(thrown(() => tok.encode('!', { addBos: true }))).toMatchObject({ code: 'MISSING_SPECIAL_TOKEN', field: 'addBos' });
  });

  it('names the offending id when decoding ids outside the vocabulary', () => {
    const tok = spm(SPM_PIECES);
    expect(thrown(() => tok.decode([1, SPM_PIECES.length]))).toMatchObject({ code: 'TOKEN_OUT_OF_RANGE', field: 'ids[1]' });
    expect(thrown(() => tok.decode([1.5]))).toMatchObject({ code: 'TOKEN_OUT_OF_RANGE', field: 'ids[0]' });
    expect(thrown(() => tok.createStreamDecoder().push(-1))).toMatchObject({ code: 'TOKEN_OUT_OF_RANGE', field: 'id' });
  });

  it('renames empty token texts like llama.cpp instead of failing', () => {
    const tok = spm([...SPM_PIECES, { text: '' }]);
    expect(tok.tokenToPiece(SPM_PIECES.length)).toBe(`[EMPTY_${SPM_PIECES.length}]`);
  });
});
