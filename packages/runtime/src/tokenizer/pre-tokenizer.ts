/**
 * BPE pre-tokenization: splitting text into words before merges, reproducing llama.cpp's
 * `unicode_regex_split` exactly rather than the HF regexes in spirit. Three things make that differ from
 * simply running the pattern as a JS `u` regex, and all three are mirrored here:
 *
 * 1. The GPT-2 and Llama-3 patterns run through hand-written scanners (llama.cpp's custom splitters),
 *    which classify code points with its category table: e.g. an unassigned code point counts as "other"
 *    and so joins a punctuation run.
 * 2. Other patterns that use `\p{..}` run on a "collapsed" text where every non-ASCII code point is
 *    replaced by one placeholder char per category (whitespace by \x0B), and `\p{X}` by a class of that
 *    placeholder plus the ASCII members of X as llama.cpp lists them.
 * 3. Patterns without categories run on the code points with non-ASCII whitespace replaced by \x0B, where
 *    `\s` means ASCII whitespace only.
 *
 * Each rule refines the word boundaries left by the previous one; text between matches stays a word.
 */
import { Category, categoryOf, isWhitespace } from './unicode.js';

/** llama.cpp's GPT-2 pattern, which it runs through a dedicated scanner. */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`;
/** Llama 3's pattern as llama.cpp adapts it (case-insensitive contractions spelled out); dedicated scanner. */
export const LLAMA3_PATTERN = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
/** Qwen2's pattern: Llama 3's with single digits. Not one of llama.cpp's scanners: runs collapsed. */
export const QWEN2_PATTERN = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

/** Cased letters as DeepSeek LLM's tokenizer spells them out (a fixed list, not `\p{LC}`). */
const DEEPSEEK_CASED_LETTERS =
  String.raw`A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}` +
  String.raw`\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}` +
  String.raw`\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}` +
  String.raw`\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}` +
  String.raw`\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}` +
  String.raw`\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}` +
  String.raw`\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}` +
  String.raw`\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}` +
  String.raw`\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}` +
  String.raw`\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}` +
  String.raw`\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}` +
  String.raw`\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}` +
  String.raw`\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}`;
/** CJK ideographs, a block below them and Hangul, as DeepSeek's tokenizers list them. */
const DEEPSEEK_CJK = String.raw`[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+`;

/** How a BPE vocabulary splits text into words, and how words become symbols. */
export interface PreTokenizerSpec {
  /** Split rules in llama.cpp's syntax, applied in order. */
  readonly patterns: readonly string[];
  /** GPT-2 byte-level alphabet (true) or raw UTF-8 with `<0xNN>` byte fallback and `▁` for spaces (false). */
  readonly byteLevel: boolean;
  /** A word that is itself a token is emitted whole, without merges (Llama 3). */
  readonly ignoreMerges: boolean;
  /** The BOS default this pre-tokenizer implies before `tokenizer.ggml.add_bos_token` is read. */
  readonly addBos: boolean;
}

function spec(patterns: readonly string[], options: Partial<Omit<PreTokenizerSpec, 'patterns'>> = {}): PreTokenizerSpec {
  return { patterns, byteLevel: options.byteLevel ?? true, ignoreMerges: options.ignoreMerges ?? false, addBos: options.addBos ?? false };
}

const DEFAULT_SPEC = spec([String.raw`[\p{P}\$\+<=>\^~\|]+`, GPT2_PATTERN, String.raw`\p{N}+`, '[0-9][0-9][0-9]']);
const LLAMA3_SPEC = spec([LLAMA3_PATTERN], { ignoreMerges: true, addBos: true });
const GPT2_SPEC = spec([GPT2_PATTERN]);
const STARCODER_SPEC = spec([String.raw`\p{N}`, GPT2_PATTERN]);
const QWEN2_SPEC = spec([QWEN2_PATTERN]);
/** Gemma 4: SentencePiece-style BPE over whole lines; only runs of newlines are cut out. */
export const GEMMA4_SPEC = spec(['[^\\n]+|[\\n]+'], { byteLevel: false });

/**
 * `tokenizer.ggml.pre` values we implement, with llama.cpp's grouping: names in one group share the
 * exact split rules and flags, so each group is covered by the test vectors of one of its members.
 */
const PRE_TOKENIZERS: ReadonlyMap<string, PreTokenizerSpec> = new Map<string, PreTokenizerSpec>([
  ['default', DEFAULT_SPEC],
  ...['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2'].map((n) => [n, LLAMA3_SPEC] as const),
  ...['dbrx', 'smaug-bpe'].map((n) => [n, spec([LLAMA3_PATTERN])] as const),
  ['deepseek-llm', spec(['[\\r\\n]', String.raw`\s?[` + DEEPSEEK_CASED_LETTERS + ']+', String.raw`\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+`, String.raw`\s+$`, DEEPSEEK_CJK, String.raw`\p{N}+`])],
  ['deepseek-coder', spec(['[\\r\\n]', String.raw`\s?\p{L}+`, String.raw`\s?\p{P}+`, DEEPSEEK_CJK, String.raw`\p{N}`])],
  ['falcon', spec([String.raw`[\p{P}\$\+<=>\^~\|` + '`]+', GPT2_PATTERN, '[0-9][0-9][0-9]'])],
  ...['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'mpt', 'olmo', 'jais', 'trillion', 'granite-docling', 'exaone4', 'a.x-4.0', 'mellum'].map(
    (n) => [n, GPT2_SPEC] as const,
  ),
  ...['starcoder', 'refact', 'command-r', 'smollm', 'codeshell', 'exaone', 'minerva-7b'].map((n) => [n, STARCODER_SPEC] as const),
  ...['qwen2', 'deepseek-r1-qwen', 'megrez', 'stablelm2', 'hunyuan'].map((n) => [n, QWEN2_SPEC] as const),
  ['gemma4', GEMMA4_SPEC],
]);

/** The spec for a `tokenizer.ggml.pre` value (missing = llama.cpp's default rules), or undefined if unknown. */
export function preTokenizerSpec(name: string | undefined): PreTokenizerSpec | undefined {
  return PRE_TOKENIZERS.get(name === undefined || name === '' ? 'default' : name);
}

/** Names accepted by {@link preTokenizerSpec}, for error messages. */
export function supportedPreTokenizers(): string[] {
  return [...PRE_TOKENIZERS.keys()];
}

// ---------------------------------------------------------------------------------------------------
// Code point classes as the scanners see them. Out-of-range positions read as 0 ("no class at all").

const F_NUMBER = 1;
const F_LETTER = 2;
const F_WHITESPACE = 4;
const F_OTHER = 8;

function scanFlags(cp: number): number {
  const category = categoryOf(cp);
  let f = category === Category.NUMBER ? F_NUMBER : category === Category.LETTER ? F_LETTER : F_OTHER;
  if (isWhitespace(cp)) f |= F_WHITESPACE;
  return f;
}

type Scanner = (cpts: Uint32Array, begin: number, end: number, out: number[]) => void;

/** Shared shape of llama.cpp's scanners: a cursor over [begin, end) that emits word lengths. */
class ScanCursor {
  private prev: number;
  constructor(
    private readonly cpts: Uint32Array,
    private readonly end: number,
    begin: number,
    private readonly out: number[],
  ) {
    this.prev = begin;
  }
  cp(pos: number): number {
    return pos < this.end ? (this.cpts[pos] as number) : -1;
  }
  flags(pos: number): number {
    return pos < this.end ? scanFlags(this.cpts[pos] as number) : 0;
  }
  /** Ends the current word at `to` (nothing if empty). */
  emit(to: number): void {
    if (to > this.prev) this.out.push(to - this.prev);
    this.prev = to;
  }
  /** Length of the contraction (`'s`, `'ll`, ...) at pos, 0 if none; `fold` makes it case-insensitive. */
  contraction(pos: number, fold: boolean): number {
    if (this.cp(pos) !== 0x27 || pos + 1 >= this.end) return 0;
    const lower = (c: number) => (fold && c >= 0x41 && c <= 0x5a ? c + 32 : c);
    const c1 = lower(this.cp(pos + 1));
    if (c1 === 0x73 || c1 === 0x74 || c1 === 0x6d || c1 === 0x64) return 2; // s t m d
    if (pos + 2 >= this.end) return 0;
    const c2 = lower(this.cp(pos + 2));
    if ((c1 === 0x72 && c2 === 0x65) || (c1 === 0x76 && c2 === 0x65) || (c1 === 0x6c && c2 === 0x6c)) return 3; // re ve ll
    return 0;
  }
  /** The whitespace run at pos: its length and the end of its last \r or \n (0 if none). */
  whitespaceRun(pos: number): { count: number; lastNewlineEnd: number } {
    let count = 0;
    let lastNewlineEnd = 0;
    while (this.flags(pos + count) & F_WHITESPACE) {
      const c = this.cp(pos + count);
      if (c === 0x0d || c === 0x0a) lastNewlineEnd = pos + count + 1;
      count++;
    }
    return { count, lastNewlineEnd };
  }
}

const isSymbolish = (f: number) => f !== 0 && (f & (F_WHITESPACE | F_LETTER | F_NUMBER)) === 0;

/** Scanner for {@link GPT2_PATTERN}. */
const scanGpt2: Scanner = (cpts, begin, end, out) => {
  const c = new ScanCursor(cpts, end, begin, out);
  for (let pos = begin; pos < end; ) {
    const contraction = c.contraction(pos, false);
    if (contraction > 0) {
      pos += contraction;
      c.emit(pos);
      continue;
    }
    const space = c.cp(pos) === 0x20 ? 1 : 0;
    const head = c.flags(pos + space);
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
    const runClass = head & F_LETTER ? (f: number) => (f & F_LETTER) !== 0 : head & F_NUMBER ? (f: number) => (f & F_NUMBER) !== 0 : isSymbolish(head) ? isSymbolish : undefined;
    if (runClass !== undefined) {
      pos += space;
      while (runClass(c.flags(pos))) pos++;
      c.emit(pos);
      continue;
    }
    const { count } = c.whitespaceRun(pos);
    if (count > 1 && pos + count < end) {
      pos += count - 1; // `\s+(?!\S)`: leave the last space to prefix the next word
    } else if (count > 0) {
      pos += count;
    } else {
      pos++;
    }
    c.emit(pos);
  }
};

/** Scanner for {@link LLAMA3_PATTERN}. */
const scanLlama3: Scanner = (cpts, begin, end, out) => {
  const c = new ScanCursor(cpts, end, begin, out);
  for (let pos = begin; pos < end; ) {
    const contraction = c.contraction(pos, true);
    if (contraction > 0) {
      pos += contraction;
      c.emit(pos);
      continue;
    }
    const cp = c.cp(pos);
    const flags = c.flags(pos);
    // `[^\r\n\p{L}\p{N}]?\p{L}+`
    if (!(cp === 0x0d || cp === 0x0a || flags & F_NUMBER) && (flags & F_LETTER || c.flags(pos + 1) & F_LETTER)) {
      pos++;
      while (c.flags(pos) & F_LETTER) pos++;
      c.emit(pos);
      continue;
    }
    // `\p{N}{1,3}`
    if (flags & F_NUMBER) {
      let groupStart = pos;
      while (c.flags(pos) & F_NUMBER) {
        if (++pos - groupStart >= 3) {
          c.emit(pos);
          groupStart = pos;
        }
      }
      c.emit(pos);
      continue;
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    const space = cp === 0x20 ? 1 : 0;
    if (isSymbolish(c.flags(pos + space))) {
      pos += space;
      while (isSymbolish(c.flags(pos))) pos++;
      while (c.cp(pos) === 0x0d || c.cp(pos) === 0x0a) pos++;
      c.emit(pos);
      continue;
    }
    const { count, lastNewlineEnd } = c.whitespaceRun(pos);
    if (lastNewlineEnd > 0) {
      pos = lastNewlineEnd; // `\s*[\r\n]+`
    } else if (count > 1 && pos + count < end) {
      pos += count - 1; // `\s+(?!\S)`
    } else if (count > 0) {
      pos += count; // `\s+`
    } else {
      pos++;
    }
    c.emit(pos);
  }
};

const SCANNERS: ReadonlyMap<string, Scanner> = new Map([
  [GPT2_PATTERN, scanGpt2],
  [LLAMA3_PATTERN, scanLlama3],
]);

// ---------------------------------------------------------------------------------------------------
// Regex rules, translated to JS regexes over a prepared text.

/** Placeholder char per category in the collapsed text (llama.cpp's choice of bytes). */
const COLLAPSED_CHAR: Record<Category, string> = {
  [Category.NUMBER]: '\xD1',
  [Category.LETTER]: '\xD2',
  [Category.PUNCTUATION]: '\xD3',
  [Category.MARK]: '\xD4',
  [Category.SYMBOL]: '\xD5',
  [Category.SEPARATOR]: '\xD0',
  [Category.OTHER]: '\xD0',
};
const WHITESPACE_PLACEHOLDER = '\x0B';

/** Class contents for `\p{X}` in the collapsed text: the placeholder plus the ASCII members llama.cpp lists. */
const CATEGORY_CLASS: Readonly<Record<string, string>> = {
  N: '\\xD10-9',
  L: '\\xD2A-Za-z',
  Lu: '\\xD2A-Za-z',
  Ll: '\\xD2A-Za-z',
  Lt: '\\xD2A-Za-z',
  Lm: '\\xD2A-Za-z',
  Lo: '\\xD2A-Za-z',
  P: '\\xD3!-#%-*,-/:-;?-@\\[-\\]_\\{\\}',
  M: '\\xD4',
  S: '\\xD5\\$\\+<=>\\^`\\|',
};

interface CompiledRule {
  readonly regex: RegExp;
  /** Runs on the collapsed text (one UTF-16 unit per code point) rather than on the code points. */
  readonly collapsed: boolean;
}

/**
 * Rewrites a pattern: `\p{X}` to its collapsed class (when `collapse`), `\s`/`\S` to ASCII whitespace
 * (so that JS's wider `\s` cannot see e.g. U+FEFF). Throws on constructs the rewrite cannot honour.
 */
function translatePattern(pattern: string, collapse: boolean): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch !== '\\') {
      if (ch === '[' && !inClass) inClass = true;
      else if (ch === ']' && inClass) inClass = false;
      out += ch;
      continue;
    }
    const next = pattern[i + 1] ?? '';
    if (next === 'p' && pattern[i + 2] === '{') {
      const close = pattern.indexOf('}', i + 3);
      const name = pattern.slice(i + 3, close);
      const cls = CATEGORY_CLASS[name];
      if (!collapse || close < 0 || cls === undefined) throw new Error(`pre-tokenizer pattern: unsupported category \\p{${name}}`);
      out += inClass ? cls : `[${cls}]`;
      i = close;
    } else if (!collapse && next === 's') {
      out += inClass ? '\\t-\\r ' : '[\\t-\\r ]';
      i++;
    } else if (!collapse && next === 'S') {
      if (inClass) throw new Error('pre-tokenizer pattern: \\S inside a class is unsupported');
      out += '[^\\t-\\r ]';
      i++;
    } else {
      out += ch + next;
      i++;
    }
  }
  return out;
}

const compiledRules = new Map<string, CompiledRule>();

function compileRule(pattern: string): CompiledRule {
  let rule = compiledRules.get(pattern);
  if (rule === undefined) {
    const collapsed = /\\p\{/.test(pattern);
    rule = collapsed
      ? { regex: new RegExp(translatePattern(pattern, true), 'g'), collapsed }
      : { regex: new RegExp(translatePattern(pattern, false), 'gu'), collapsed };
    compiledRules.set(pattern, rule);
  }
  return rule;
}

/** The text as a regex rule sees it, built lazily per input. */
class PreparedText {
  private collapsedText: string | undefined;
  private spacedText: string | undefined;
  private utf16ToCpt: Uint32Array | undefined;
  constructor(
    private readonly cpts: Uint32Array,
    private readonly utf16Offsets: Uint32Array,
    private readonly text: string,
  ) {}

  collapsed(): string {
    if (this.collapsedText === undefined) {
      const parts: string[] = new Array<string>(this.cpts.length);
      for (let i = 0; i < this.cpts.length; i++) {
        const cp = this.cpts[i] as number;
        parts[i] = cp < 0x80 ? String.fromCharCode(cp) : isWhitespace(cp) ? WHITESPACE_PLACEHOLDER : COLLAPSED_CHAR[categoryOf(cp)];
      }
      this.collapsedText = parts.join('');
    }
    return this.collapsedText;
  }

  /** The original text with non-ASCII whitespace as \x0B (same UTF-16 layout: all such code points are BMP). */
  spaced(): string {
    this.spacedText ??= this.text.replace(/[^\x00-\x7F]/g, (ch) => (isWhitespace(ch.codePointAt(0) as number) ? WHITESPACE_PLACEHOLDER : ch));
    return this.spacedText;
  }

  utf16Offset(cpt: number): number {
    return this.utf16Offsets[cpt] as number;
  }

  cptAtUtf16(offset: number): number {
    if (this.utf16ToCpt === undefined) {
      this.utf16ToCpt = new Uint32Array(this.text.length + 1);
      for (let i = 0; i < this.utf16Offsets.length; i++) this.utf16ToCpt[this.utf16Offsets[i] as number] = i;
    }
    return this.utf16ToCpt[offset] as number;
  }
}

function applyRegexRule(rule: CompiledRule, prepared: PreparedText, begin: number, end: number, out: number[]): void {
  const { regex } = rule;
  // Work in the rule's own index space (code points for collapsed text, UTF-16 units otherwise).
  const text = rule.collapsed ? prepared.collapsed() : prepared.spaced();
  const from = rule.collapsed ? begin : prepared.utf16Offset(begin);
  const to = rule.collapsed ? end : prepared.utf16Offset(end);
  const toCpt = (i: number) => (rule.collapsed ? i : prepared.cptAtUtf16(i));
  const segment = text.slice(from, to);
  let last = begin;
  regex.lastIndex = 0;
  for (let m = regex.exec(segment); m !== null; m = regex.exec(segment)) {
    if (m[0].length === 0) {
      regex.lastIndex++; // none of our rules can match empty; guard against looping anyway
      continue;
    }
    const matchBegin = toCpt(from + m.index);
    const matchEnd = toCpt(from + m.index + m[0].length);
    if (matchBegin > last) out.push(matchBegin - last);
    out.push(matchEnd - matchBegin);
    last = matchEnd;
  }
  if (last < end) out.push(end - last);
}

/**
 * Splits well-formed text into words by the given rules, as llama.cpp's `unicode_regex_split` does
 * (before its byte-level encoding step). Returns the words as substrings of `text`.
 */
export function splitWords(text: string, cpts: Uint32Array, utf16Offsets: Uint32Array, patterns: readonly string[]): string[] {
  let lengths: number[] = [cpts.length];
  const prepared = new PreparedText(cpts, utf16Offsets, text);
  for (const pattern of patterns) {
    const next: number[] = [];
    const scanner = SCANNERS.get(pattern);
    const rule = scanner === undefined ? compileRule(pattern) : undefined;
    let begin = 0;
    for (const length of lengths) {
      const end = begin + length;
      if (scanner !== undefined) scanner(cpts, begin, end, next);
      else applyRegexRule(rule as CompiledRule, prepared, begin, end, next);
      begin = end;
    }
    lengths = next;
  }
  const words: string[] = [];
  let begin = 0;
  for (const length of lengths) {
    words.push(text.slice(utf16Offsets[begin], utf16Offsets[begin + length]));
    begin += length;
  }
  return words;
}
