/**
 * The public tokenizer: llama.cpp's `llama_tokenize` / `llama_token_to_piece` semantics over a vocabulary
 * read from GGUF/SMQ metadata. Encoding first cuts special tokens out of the text (user-defined tokens
 * always; control tokens only with `parseSpecial`), then runs SPM or BPE over the text in between.
 */
import type { ModelMetadata } from '@smallmind/io-smq';
import { BpeEncoder } from './bpe.js';
import { TokenizerError } from './errors.js';
import { SpmEncoder } from './spm.js';
import { WpmEncoder } from './wpm.js';
import { byteOfAlphabetChar, isWhitespace, toLowerCodepoint, toWellFormed, utf8Encode } from './unicode.js';
import { loadVocabulary, TokenAttr, type TokenizerKind, type Vocabulary } from './vocabulary.js';

export interface EncodeOptions {
  /** Prepend BOS. Default: `tokenizer.ggml.add_bos_token`, else the tokenizer type's default (SPM: true). */
  addBos?: boolean;
  /** Append EOS. Default: `tokenizer.ggml.add_eos_token`, else false. */
  addEos?: boolean;
  /**
   * Append SEP (BERT's `[SEP]`). Default: true for WPM, where llama.cpp always frames the text as
   * `[CLS] ... [SEP]` when adding special tokens; false otherwise.
   */
  addSep?: boolean;
  /** Recognise control tokens (e.g. `<|im_start|>`) written in the text. Default false: they are plain text. */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /**
   * Leave out control and unknown tokens (and a leading BOS / trailing EOS the tokenizer adds itself).
   * Default false: they are rendered as their text.
   */
  skipSpecial?: boolean;
}

/** Incremental decoder for generated tokens: never splits a UTF-8 character across two outputs. */
export interface StreamDecoder {
  /** The text that became complete with this token (possibly ''). */
  push(id: number): string;
  /** Whatever is still pending; incomplete bytes come out as U+FFFD. The decoder can be reused after. */
  flush(): string;
}

export interface Tokenizer {
  /** `spm` (tokenizer.ggml.model = llama), `bpe` (gpt2, gemma4) or `wpm` (bert). */
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  /** End-of-turn token (e.g. `<|eot_id|>`, `<|im_end|>`), from metadata or recognised by its text. */
  readonly eotId: number | undefined;
  /** Whether `encode` prepends BOS by default. */
  readonly addBos: boolean;
  /** Whether `encode` appends EOS by default. */
  readonly addEos: boolean;
  /** Whether `encode` appends SEP by default (WPM). */
  readonly addSep: boolean;
  encode(text: string, options?: EncodeOptions): number[];
  /** UTF-8 text of the tokens; invalid byte sequences become U+FFFD. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** The raw bytes of the tokens (same rules as `decode`). */
  decodeBytes(ids: readonly number[], options?: DecodeOptions): Uint8Array;
  /** One token's text as llama.cpp's `token_to_piece` renders it (specials included); a lone byte token gives U+FFFD. */
  tokenToPiece(id: number): string;
  /** The exact bytes of `tokenToPiece` (a byte token gives its byte). */
  tokenToPieceBytes(id: number): Uint8Array;
  /** Whether generating this token ends generation (EOS, EOT, `<|im_end|>`, ... : llama.cpp's EOG set). */
  isEndOfGeneration(id: number): boolean;
  createStreamDecoder(options?: DecodeOptions): StreamDecoder;
}

/**
 * Builds the tokenizer described by a model's `tokenizer.ggml.*` metadata.
 * @throws TokenizerError when the metadata is missing, malformed or names an unsupported tokenizer.
 */
export function createTokenizer(metadata: ModelMetadata): Tokenizer {
  return new VocabTokenizer(loadVocabulary(metadata));
}

type Fragment = { readonly token: number } | { readonly text: string };

const SPACE_ESCAPE = '\u2581';
const EMPTY = new Uint8Array(0);
/** `ignoreBOM`: a U+FEFF at the start of a piece is text (starcoder has `\uFEFF//`), not a byte-order mark. */
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** C's isspace in the "C" locale, which llama.cpp uses when stripping around special tokens. */
const isAsciiSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

class VocabTokenizer implements Tokenizer {
  private readonly spm: SpmEncoder | undefined;
  private readonly bpe: BpeEncoder | undefined;
  private readonly wpm: WpmEncoder | undefined;
  private readonly pieces: Array<Uint8Array | undefined>;

  constructor(private readonly vocab: Vocabulary) {
    this.spm = vocab.kind === 'spm' ? new SpmEncoder(vocab) : undefined;
    this.bpe = vocab.kind === 'bpe' ? new BpeEncoder(vocab) : undefined;
    this.wpm = vocab.kind === 'wpm' ? new WpmEncoder(vocab) : undefined;
    this.pieces = new Array<Uint8Array | undefined>(vocab.tokens.length);
  }

  get kind(): TokenizerKind {
    return this.vocab.kind;
  }
  get vocabSize(): number {
    return this.vocab.tokens.length;
  }
  get bosId(): number | undefined {
    return this.vocab.special.bos;
  }
  get eosId(): number | undefined {
    return this.vocab.special.eos;
  }
  get eotId(): number | undefined {
    return this.vocab.special.eot;
  }
  get addBos(): boolean {
    return this.vocab.addBos;
  }
  get addEos(): boolean {
    return this.vocab.addEos;
  }
  get addSep(): boolean {
    return this.vocab.kind === 'wpm';
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addBos = options.addBos ?? this.vocab.addBos;
    const addEos = options.addEos ?? this.vocab.addEos;
    const addSep = options.addSep ?? this.addSep;
    const wellFormed = toWellFormed(text);
    const fragments = wellFormed.length > 0 ? this.partition(wellFormed, options.parseSpecial ?? false) : [];
    const out: number[] = [];
    if (addBos) out.push(this.requireSpecial('bos'));
    // SPM: a text fragment at the start or right after a special token gets the leading space.
    let afterSpecial = true;
    for (const fragment of fragments) {
      if ('token' in fragment) {
        out.push(fragment.token);
        afterSpecial = true;
        continue;
      }
      if (this.spm !== undefined) {
        const spaced = this.vocab.addSpacePrefix && afterSpecial ? ` ${fragment.text}` : fragment.text;
        this.spm.encode(spaced.replaceAll(' ', SPACE_ESCAPE), out);
      } else if (this.wpm !== undefined) {
        this.wpm.encode(fragment.text, out);
      } else if (this.vocab.dropWhitespace) {
        for (const segment of whitespaceSeparated(fragment.text, this.vocab.lowercase)) (this.bpe as BpeEncoder).encode(segment, out);
      } else {
        (this.bpe as BpeEncoder).encode(this.vocab.escapeWhitespace ? fragment.text.replaceAll(' ', SPACE_ESCAPE) : fragment.text, out);
      }
      afterSpecial = false;
    }
    if (addEos) out.push(this.requireSpecial('eos'));
    if (addSep) out.push(this.requireSpecial('sep'));
    return out;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return utf8Decoder.decode(this.decodeBytes(ids, options));
  }

  decodeBytes(ids: readonly number[], options: DecodeOptions = {}): Uint8Array {
    ids.forEach((id, i) => this.checkId(id, `ids[${i}]`));
    const skipSpecial = options.skipSpecial ?? false;
    const { special, addBos, addEos } = this.vocab;
    let begin = 0;
    let end = ids.length;
    const leadingBos = end > 0 && ids[0] === special.bos;
    if (skipSpecial && addBos && leadingBos) begin = 1;
    if (skipSpecial && addEos && end > begin && ids[end - 1] === special.eos) end--;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = begin; i < end; i++) {
      let piece = this.pieceBytes(ids[i] as number, !skipSpecial);
      // Undo the space SPM encoding puts in front of the text (after a leading BOS, if any).
      const firstText = i === 0 || (i === 1 && leadingBos);
      if (firstText && this.vocab.addSpacePrefix && piece[0] === 0x20) piece = piece.subarray(1);
      parts.push(piece);
      total += piece.length;
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  tokenToPiece(id: number): string {
    return utf8Decoder.decode(this.tokenToPieceBytes(id));
  }

  tokenToPieceBytes(id: number): Uint8Array {
    this.checkId(id, 'id');
    return this.pieceBytes(id, true).slice();
  }

  isEndOfGeneration(id: number): boolean {
    return this.vocab.eog.has(id);
  }

  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    const renderSpecial = !(options.skipSpecial ?? false);
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    return {
      push: (id: number) => {
        this.checkId(id, 'id');
        return decoder.decode(this.pieceBytes(id, renderSpecial), { stream: true });
      },
      flush: () => decoder.decode(),
    };
  }

  private requireSpecial(which: 'bos' | 'eos' | 'sep'): number {
    const id = this.vocab.special[which];
    const option = { bos: 'addBos', eos: 'addEos', sep: 'addSep' }[which];
    if (id === undefined) throw new TokenizerError('MISSING_SPECIAL_TOKEN', option, `the vocabulary has no ${which.toUpperCase()} token`);
    return id;
  }

  private checkId(id: number, field: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.tokens.length) {
      throw new TokenizerError('TOKEN_OUT_OF_RANGE', field, `token id ${id} is outside the vocabulary [0, ${this.vocab.tokens.length})`);
    }
  }

  /** llama.cpp's `token_to_piece` as bytes; cached since pieces are requested once per generated token. */
  private pieceBytes(id: number, renderSpecial: boolean): Uint8Array {
    const attr = this.vocab.attrs[id] as number;
    if (!renderSpecial && attr & (TokenAttr.UNKNOWN | TokenAttr.CONTROL)) return EMPTY;
    let piece = this.pieces[id];
    if (piece === undefined) {
      piece = this.computePiece(id, attr);
      this.pieces[id] = piece;
    }
    return piece;
  }

  private computePiece(id: number, attr: number): Uint8Array {
    const text = this.vocab.tokens[id] as string;
    if (attr & (TokenAttr.UNKNOWN | TokenAttr.CONTROL | TokenAttr.USER_DEFINED)) return utf8Encode(text);
    if (attr & TokenAttr.NORMAL) {
      if (this.vocab.kind !== 'bpe' || this.vocab.escapeWhitespace) return utf8Encode(text.replaceAll(SPACE_ESCAPE, ' '));
      return decodeByteLevel(text);
    }
    if (attr & TokenAttr.BYTE) return Uint8Array.of(Number.parseInt(text.slice(3, 5), 16));
    return EMPTY; // unused / undefined tokens render as nothing
  }

  /**
   * Cuts special tokens out of the text, longest first, each at every occurrence left to right
   * (llama.cpp's `tokenizer_st_partition`), honouring their lstrip/rstrip attributes.
   */
  private partition(text: string, parseSpecial: boolean): Fragment[] {
    let fragments: Fragment[] = [{ text }];
    const { tokens, attrs } = this.vocab;
    for (const id of this.vocab.specialTokensByLength) {
      const attr = attrs[id] as number;
      if (!parseSpecial && attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) continue;
      const tokenText = tokens[id] as string;
      if (!text.includes(tokenText)) continue;
      const next: Fragment[] = [];
      for (const fragment of fragments) {
        if ('token' in fragment) {
          next.push(fragment);
          continue;
        }
        const raw = fragment.text;
        let pos = 0;
        for (let match = raw.indexOf(tokenText, pos); match >= 0; match = raw.indexOf(tokenText, pos)) {
          let leftEnd = match;
          if (attr & TokenAttr.LSTRIP) while (leftEnd > pos && isAsciiSpace(raw.charCodeAt(leftEnd - 1))) leftEnd--;
          if (leftEnd > pos) next.push({ text: raw.slice(pos, leftEnd) });
          next.push({ token: id });
          pos = match + tokenText.length;
          if (attr & TokenAttr.RSTRIP) while (pos < raw.length && isAsciiSpace(raw.charCodeAt(pos))) pos++;
        }
        if (pos < raw.length) next.push({ text: raw.slice(pos) });
      }
      fragments = next;
    }
    return fragments;
  }
}

/** A GPT-2 byte-level token text back to its bytes (llama.cpp's `llama_decode_text`). */
function decodeByteLevel(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    const b = byteOfAlphabetChar(cp);
    if (b !== undefined) {
      bytes.push(b);
      continue;
    }
    // Not an alphabet char: llama.cpp writes a visible marker rather than dropping it.
    const hex = [...utf8Encode(ch)].map((x) => x.toString(16).padStart(2, '0')).join('');
    bytes.push(...utf8Encode(`[UNK_BYTE_0x${hex}${text}]`));
  }
  return Uint8Array.from(bytes);
}

/** llama.cpp's whitespace session: the runs between whitespace code points, optionally lowercased. */
function whitespaceSeparated(text: string, lowercase: boolean): string[] {
  const segments: string[] = [];
  let current = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (isWhitespace(cp)) {
      if (current.length > 0) segments.push(current);
      current = '';
    } else {
      current += lowercase ? String.fromCodePoint(toLowerCodepoint(cp)) : ch;
    }
  }
  if (current.length > 0) segments.push(current);
  return segments;
}
