/**
 * BPE as llama.cpp's `llm_tokenizer_bpe_session` does it: pre-tokenize into words, map each word to the
 * GPT-2 byte alphabet (or keep raw UTF-8 for SentencePiece-style BPE), then within each word repeatedly
 * apply the adjacent merge of lowest rank (ties: leftmost). Symbols that are not tokens fall back to
 * their bytes. Words repeat a lot in real text, so their token ids are cached.
 */
import { splitWords, type PreTokenizerSpec } from './pre-tokenizer.js';
import { SymbolChain, mergeByPriority } from './symbols.js';
import { byteLevelEncode, byteTokenText, codepointsOf, utf8Encode } from './unicode.js';
import type { Vocabulary } from './vocabulary.js';

/** Words longer than this are not cached (Gemma 4 words are whole lines). */
const MAX_CACHED_WORD_LENGTH = 256;
const MAX_CACHE_ENTRIES = 50_000;

export class BpeEncoder {
  private readonly spec: PreTokenizerSpec;
  private readonly cache = new Map<string, readonly number[]>();
  /** Token id per byte for the fallback; -1 where the vocabulary has none (such bytes are dropped, as in llama.cpp). */
  private readonly byteTokens: Int32Array;

  constructor(private readonly vocab: Vocabulary) {
    this.spec = vocab.preTokenizer as PreTokenizerSpec;
    this.byteTokens = new Int32Array(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      // Byte-level vocabularies: llama.cpp looks up the raw byte as a one-char string, which only an
      // ASCII byte can match. SentencePiece-style: `<0xNN>`.
      const text = this.spec.byteLevel ? (b < 0x80 ? String.fromCharCode(b) : undefined) : byteTokenText(b);
      const id = text === undefined ? undefined : vocab.tokenToId.get(text);
      if (id !== undefined) this.byteTokens[b] = id;
    }
  }

  /** Appends the tokens of `text` (one fragment between special tokens) to `out`. */
  encode(text: string, out: number[]): void {
    if (text.length === 0) return;
    const { cpts, utf16Offsets } = codepointsOf(text);
    for (const word of splitWords(text, cpts, utf16Offsets, this.spec.patterns)) {
      const symbolText = this.spec.byteLevel ? byteLevelEncode(word) : word;
      const cached = this.cache.get(symbolText);
      if (cached !== undefined) {
        for (const id of cached) out.push(id);
        continue;
      }
      const ids = this.encodeWord(symbolText);
      if (symbolText.length <= MAX_CACHED_WORD_LENGTH) {
        if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
        this.cache.set(symbolText, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private encodeWord(word: string): number[] {
    const { tokenToId, mergeRanks } = this.vocab;
    const wholeId = tokenToId.get(word);
    // Llama 3 emits a word that is a token as is; Gemma 4 does so for runs of newlines.
    const whole = wholeId !== undefined && (this.spec.ignoreMerges || (this.spec.gemma4 && /^\n+$/.test(word)));
    const chain = new SymbolChain(word, whole);
    mergeByPriority(chain, (left, right) => mergeRanks.get(`${chain.symbolText(left)} ${chain.symbolText(right)}`));
    const ids: number[] = [];
    for (const i of chain.live()) {
      const piece = chain.symbolText(i);
      const id = tokenToId.get(piece);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      for (const b of utf8Encode(piece)) {
        const byteId = this.byteTokens[b] as number;
        if (byteId >= 0) ids.push(byteId);
      }
    }
    return ids;
  }
}
