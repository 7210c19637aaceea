/**
 * SentencePiece-style tokenization as llama.cpp's `llm_tokenizer_spm` does it: start from code points,
 * repeatedly merge the adjacent pair whose concatenation is the vocabulary token with the highest score
 * (ties: leftmost), then emit each remaining symbol's token, or its UTF-8 bytes as `<0xNN>` tokens.
 */
import { SymbolChain, mergeByPriority } from './symbols.js';
import { byteTokenText, utf8Encode } from './unicode.js';
import type { Vocabulary } from './vocabulary.js';

export class SpmEncoder {
  /** Token id per byte value, resolved once; -1 where the vocabulary has no token for the byte. */
  private readonly byteTokens: Int32Array;

  constructor(private readonly vocab: Vocabulary) {
    this.byteTokens = new Int32Array(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      // (llama.cpp also tries the byte as a one-char token, but a symbol whose text is a token never
      // reaches the fallback, so only `<0xNN>` can matter.)
      const id = vocab.tokenToId.get(byteTokenText(b));
      if (id !== undefined) this.byteTokens[b] = id;
    }
  }

  /** Appends the tokens of `text` (already whitespace-escaped) to `out`. */
  encode(text: string, out: number[]): void {
    if (text.length === 0) return;
    const { tokenToId, scores } = this.vocab;
    const chain = new SymbolChain(text);
    mergeByPriority(chain, (left, right) => {
      const id = tokenToId.get(chain.pairText(left, right));
      return id === undefined ? undefined : -(scores[id] as number); // highest score first
    });
    // Every merged symbol is a token (merges only form tokens), so only single code points can miss;
    // llama.cpp's reverse-merge lookup can never apply to those and is not needed here.
    for (const i of chain.live()) {
      const piece = chain.symbolText(i);
      const id = tokenToId.get(piece);
      if (id !== undefined) out.push(id);
      else this.pushBytes(piece, out);
    }
  }

  private pushBytes(piece: string, out: number[]): void {
    for (const b of utf8Encode(piece)) {
      // llama.cpp throws when the byte has no token; the unknown token (SPM always has one: id 0 by
      // default) keeps the text's length visible instead.
      const id = this.byteTokens[b] as number;
      out.push(id >= 0 ? id : (this.vocab.special.unk ?? 0));
    }
  }
}
