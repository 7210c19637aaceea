/**
 * WordPiece as llama.cpp's `llm_tokenizer_wpm_session` does it for BERT-style embedding models: a
 * BertNormalizer-like pass (optional NFD + accent stripping and lowercasing, control characters dropped,
 * punctuation / ASCII symbols / CJK ideographs each made a word of their own), then per word, with a
 * phantom U+2581 in front, greedy longest-match against the vocabulary. A word with any unmatched rest
 * becomes a single [UNK].
 */
import { Category, categoryOf, codepointsOf, type CodepointRange, inRanges, isControl, isWhitespace, nfdFirstCodepoint, toLowerCodepoint } from './unicode.js';
import type { Vocabulary } from './vocabulary.js';

const PHANTOM_SPACE = '\u2581';

export class WpmEncoder {
  constructor(private readonly vocab: Vocabulary) {}

  /** Appends the tokens of `text` (one fragment between special tokens) to `out`. */
  encode(text: string, out: number[]): void {
    const { tokenToId, maxTokenBytes, special } = this.vocab;
    for (const word of this.preprocess(text)) {
      const text = PHANTOM_SPACE + word;
      const { cpts, utf16Offsets } = codepointsOf(text);
      const start = out.length;
      for (let i = 0; i < cpts.length; ) {
        // Longest piece starting at i that is a token; llama.cpp bounds the window by the longest token.
        let end = i;
        let bytes = 0;
        while (end < cpts.length && bytes + utf8Bytes(cpts[end] as number) <= maxTokenBytes) bytes += utf8Bytes(cpts[end++] as number);
        let matched = -1;
        for (; end > i; end--) {
          const id = tokenToId.get(text.slice(utf16Offsets[i], utf16Offsets[end]));
          if (id !== undefined) {
            out.push(id);
            matched = end;
            break;
          }
        }
        if (matched < 0) {
          out.length = start; // discard the partial word
          break;
        }
        i = matched;
      }
      if (out.length === start && special.unk !== undefined) out.push(special.unk);
    }
  }

  /** Normalizes and splits the text into words (llama.cpp's `preprocess`). */
  private preprocess(text: string): string[] {
    const { lowercase, stripAccents } = this.vocab;
    const words: string[] = [];
    let current = '';
    const finish = () => {
      if (current.length > 0) words.push(current);
      current = '';
    };
    for (const ch of text) {
      let cp = ch.codePointAt(0) as number;
      if (stripAccents) cp = nfdFirstCodepoint(cp);
      if (isWhitespace(cp)) {
        finish();
        continue;
      }
      if (cp === 0 || cp === 0xfffd || isControl(cp)) continue;
      const category = categoryOf(cp);
      if (stripAccents && category === Category.MARK) continue;
      const s = String.fromCodePoint(lowercase ? toLowerCodepoint(cp) : cp);
      if (category === Category.PUNCTUATION || (cp < 0x7f && category === Category.SYMBOL) || isChineseChar(cp)) {
        finish();
        words.push(s);
      } else {
        current += s;
      }
    }
    finish();
    return words;
  }
}

function utf8Bytes(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** CJK ideograph blocks as BERT's tokenizer (and llama.cpp after it) lists them. */
const CHINESE_RANGES: readonly CodepointRange[] = [
  [0x4e00, 0x9fff], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x2a700, 0x2b73f], [0x2b740, 0x2b81f],
  [0x2b920, 0x2ceaf], // sic: HF's Rust code starts at 0x2B920, not 0x2B820
  [0xf900, 0xfaff], [0x2f800, 0x2fa1f],
];
const isChineseChar = (cp: number) => inRanges(cp, CHINESE_RANGES);
