/**
 * SentencePiece-style tokenization as llama.cpp's `llm_tokenizer_spm` does it: start from code points,
 * repeatedly merge the adjacent pair whose concatenation is the vocabulary token with the highest score
 * (ties: leftmost), then emit each remaining symbol's token, or its UTF-8 bytes as `<0xNN>` tokens.
 */
import { TokenizerError } from './errors.js';
import { Heap, SymbolChain, type Candidate } from './symbols.js';
import { byteTokenText, utf8Encode } from './unicode.js';
import type { Vocabulary } from './vocabulary.js';

interface ScoredCandidate extends Candidate {
  readonly score: number;
}

const byScoreThenLeft = (a: ScoredCandidate, b: ScoredCandidate) => a.score > b.score || (a.score === b.score && a.left < b.left);

export class SpmEncoder {
  /** Token id per byte value, resolved once; -1 where the vocabulary has no token for the byte. */
  private readonly byteTokens: Int32Array;

  constructor(private readonly vocab: Vocabulary) {
    this.byteTokens = new Int32Array(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      // `<0xNN>` first; some vocabularies spell a byte as the character itself.
      const id = vocab.tokenToId.get(byteTokenText(b)) ?? (b < 0x80 ? vocab.tokenToId.get(String.fromCharCode(b)) : undefined);
      if (id !== undefined) this.byteTokens[b] = id;
    }
  }

  /** Appends the tokens of `text` (already whitespace-escaped) to `out`. */
  encode(text: string, out: number[]): void {
    if (text.length === 0) return;
    const { tokenToId, scores } = this.vocab;
    const chain = new SymbolChain(text);
    const queue = new Heap<ScoredCandidate>(byScoreThenLeft);
    const consider = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const s = chain.start[left] as number;
      const id = tokenToId.get(text.slice(s, s + (chain.length[left] as number) + (chain.length[right] as number)));
      if (id !== undefined) queue.push({ ...chain.candidate(left, right), score: scores[id] as number });
    };
    for (let i = 1; i < chain.count; i++) consider(i - 1, i);
    for (let c = queue.pop(); c !== undefined; c = queue.pop()) {
      if (!chain.isCurrent(c)) continue;
      chain.merge(c.left, c.right);
      consider(chain.prev[c.left] as number, c.left);
      consider(c.left, chain.next[c.left] as number);
    }
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
      const id = this.byteTokens[b] as number;
      if (id >= 0) out.push(id);
      else if (this.vocab.special.unk !== undefined) out.push(this.vocab.special.unk);
      else throw new TokenizerError('NO_BYTE_TOKEN', byteTokenText(b), `no token for byte ${byteTokenText(b)} and no unknown token to stand in for it`);
    }
  }
}
