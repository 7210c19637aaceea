/**
 * BPE pre-tokenization: splitting text into words before merges, reproducing llama.cpp's
 * `unicode_regex_split` exactly rather than the HF regexes in spirit. Three things make that differ from
 * simply running the pattern as a JS `u` regex, and all three are mirrored here:
 *
 * 1. The GPT-2, Llama 3, Qwen2, Qwen 3.5, Kimi K2, AFMoE-digit and newline patterns run through
 *    hand-written scanners (llama.cpp's custom splitters), which classify code points with its category
 *    table: e.g. an unassigned code point counts as "other" and so joins a punctuation run.
 * 2. Other patterns that use `\p{..}` run on a "collapsed" text where every non-ASCII code point is
 *    replaced by one placeholder char per category (whitespace by \x0B), and `\p{X}` by a class of that
 *    placeholder plus the ASCII members of X as llama.cpp lists them.
 * 3. Patterns without categories run on the code points with non-ASCII whitespace replaced by \x0B, where
 *    `\s` means ASCII whitespace only.
 *
 * Each rule refines the word boundaries left by the previous one; text between matches stays a word.
 */
import { Category, categoryOf, type CodepointRange, inRanges, isWhitespace } from './unicode.js';

// ---------------------------------------------------------------------------------------------------
// llama.cpp's split rules (llm_tokenizer_bpe, release v0.4.0), verbatim in its regex syntax. Rules that
// llama.cpp runs through a hand-written scanner are recognised by their exact text (see SCANNERS).

const CONTRACTIONS = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;

/** llama.cpp's GPT-2 pattern, which it runs through a dedicated scanner. */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`;
/** Llama 3's pattern as llama.cpp adapts it (case-insensitive contractions spelled out); dedicated scanner. */
export const LLAMA3_PATTERN = CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
/** Qwen2's pattern: Llama 3's with single digits; dedicated scanner. */
export const QWEN2_PATTERN = CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
/** Qwen 3.5: Qwen2's with combining marks inside letter runs; dedicated scanner. */
export const QWEN35_PATTERN = CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
/** Kimi K2: llama.cpp's trigger for its K2 scanner (Han runs, then a GPT-4o-like split without Han). */
export const KIMI_K2_PATTERN = String.raw`\p{Han}+`;
/** AFMoE: llama.cpp's name for its digit scanner (a leading 1-2 digits, then groups of three). */
export const AFMOE_DIGITS_PATTERN = String.raw`\p{AFMoE_digits}`;
/** Tiny Aya's digit grouping; llama.cpp runs it through the AFMoE digit scanner. */
export const TINY_AYA_DIGITS_PATTERN = String.raw`\d{1,3}(?=(?:\d{3})*\b)`;
/** Runs of non-newlines and runs of newlines (SentencePiece-style BPE); dedicated scanner. */
export const NEWLINES_PATTERN = '[^\\n]+|[\\n]+';

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
/** CJK ideographs and kana (DeepSeek V3, Youtu). */
const CJK_KANA = String.raw`[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+`;
/** DeepSeek V3's main rule (also AFMoE's): ASCII punctuation may lead an ASCII word; marks join letters. */
const DEEPSEEK3_MAIN =
  String.raw`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + '`' + String.raw`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
/** GPT-4o's rule with llama.cpp's lookahead spelling of "upper-case letter" / "lower-case letter". */
const gpt4oRule = (letter: string, contraction: string) =>
  String.raw`[^\r\n\p{L}\p{N}]?((?=[${letter}])([^a-z]))*((?=[${letter}])([^A-Z]))+${contraction}|[^\r\n\p{L}\p{N}]?((?=[${letter}])([^a-z]))+((?=[${letter}])([^A-Z]))*${contraction}|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
/** The case-split letter rule of Tekken / Youtu / Tiny Aya, with explicit letter sub-categories. */
const CASED_WORDS =
  String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+` + `${CONTRACTIONS}?` +
  String.raw`|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*` + `${CONTRACTIONS}?`;
/** BLOOM / Poro / GPT3-Finnish: a word is anything up to whitespace or one of a few punctuation marks. */
const BLOOM_PATTERN = String.raw` ?[^(\s|.,!?\u{2026}\u{3002}\u{FF0C}\u{3001}\u{964}\u{6D4}\u{60C})]+`;
const STARCODER_RULES = [String.raw`\p{N}`, GPT2_PATTERN];

/** How a BPE vocabulary splits text into words, and how words become symbols. */
export interface PreTokenizerSpec {
  /** llama.cpp's pre-tokenizer type (`LLAMA_VOCAB_PRE_TYPE_*` in lower case): names with one type behave alike. */
  readonly type: string;
  /** Split rules in llama.cpp's syntax, applied in order. */
  readonly patterns: readonly string[];
  /** GPT-2 byte-level alphabet (true) or raw UTF-8 with `<0xNN>` byte fallback (false). */
  readonly byteLevel: boolean;
  /** Spaces are written as U+2581 before splitting, and in token texts (SentencePiece-style BPE). */
  readonly escapeWhitespace: boolean;
  /** A word that is itself a token is emitted whole, without merges (Llama 3). */
  readonly ignoreMerges: boolean;
  /** The BOS default this pre-tokenizer implies before `tokenizer.ggml.add_bos_token` is read. */
  readonly addBos: boolean;
  /** BOS is on even when the file says false (llama.cpp's Gemma 4 workaround); runs of newlines that are a token stay whole. */
  readonly gemma4: boolean;
  /** llama.cpp drops the default BOS id 11 for this type (ChatGLM): only metadata can name one. */
  readonly noDefaultBos: boolean;
}

type SpecOptions = Partial<Omit<PreTokenizerSpec, 'type' | 'patterns'>>;

function spec(type: string, patterns: readonly string[], options: SpecOptions = {}): PreTokenizerSpec {
  return {
    type,
    patterns,
    byteLevel: options.byteLevel ?? true,
    escapeWhitespace: options.escapeWhitespace ?? false,
    ignoreMerges: options.ignoreMerges ?? false,
    addBos: options.addBos ?? false,
    gemma4: options.gemma4 ?? false,
    noDefaultBos: options.noDefaultBos ?? false,
  };
}

const DEFAULT_SPEC = spec('default', [String.raw`[\p{P}\$\+<=>\^~\|]+`, GPT2_PATTERN, String.raw`\p{N}+`, '[0-9][0-9][0-9]']);
/** Gemma 4: SentencePiece-style BPE over whole lines; only runs of newlines are cut out. */
export const GEMMA4_SPEC = spec('gemma4', [NEWLINES_PATTERN], { byteLevel: false, escapeWhitespace: true, gemma4: true });

/** One row per llama.cpp pre-tokenizer type: the `tokenizer.ggml.pre` names that select it and its spec. */
const PRE_TOKENIZER_TYPES: ReadonlyArray<readonly [readonly string[], PreTokenizerSpec]> = [
  [['default'], DEFAULT_SPEC],
  [['minicpm5'], spec('minicpm5', [String.raw`\p{N}{1,3}`, CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`], { ignoreMerges: true })],
  [['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'], spec('llama3', [LLAMA3_PATTERN], { ignoreMerges: true, addBos: true })],
  [['deepseek-llm'], spec('deepseek-llm', ['[\\r\\n]', String.raw`\s?[` + DEEPSEEK_CASED_LETTERS + ']+', String.raw`\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+`, String.raw`\s+$`, DEEPSEEK_CJK, String.raw`\p{N}+`])],
  [['deepseek-coder'], spec('deepseek-coder', ['[\\r\\n]', String.raw`\s?\p{L}+`, String.raw`\s?\p{P}+`, DEEPSEEK_CJK, String.raw`\p{N}`])],
  [['deepseek-v3'], spec('deepseek3-llm', [String.raw`\p{N}{1,3}`, CJK_KANA, DEEPSEEK3_MAIN])],
  [['hunyuan-dense'], spec('hunyuan-dense', [String.raw`\p{N}{1,3}`, CJK_KANA, DEEPSEEK3_MAIN])],
  [['joyai-llm'], spec('joyai-llm', [String.raw`\p{N}{1,3}`, CJK_KANA, DEEPSEEK3_MAIN])],
  [
    ['youtu'],
    spec(
      'youtu',
      [
        String.raw`[\u{AC00}-\u{D7A3}\u{3131}-\u{318E}]+|[\u{FF01}\u{2026}\u{201C}\u{201D}\u{2018}\u{2019}\u{2014}\u{FF1A}\u{FF1B}\u{FF0C}\u{3001}-\u{303F}\u{FE30}-\u{FE4F}]+|[\u{3105}-\u{312F}]+|` + CJK_KANA,
        CASED_WORDS + String.raw`|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
      ],
      { ignoreMerges: true },
    ),
  ],
  [['falcon'], spec('falcon', [String.raw`[\p{P}\$\+<=>\^~\|` + '`]+', GPT2_PATTERN, '[0-9][0-9][0-9]'])],
  [['mpt'], spec('mpt', [GPT2_PATTERN])],
  [['starcoder'], spec('starcoder', STARCODER_RULES)],
  [['gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum', 'modern-bert', 'exaone4'], spec('gpt2', [GPT2_PATTERN])],
  // llama.cpp also sets add_sep for these (used by embedding pipelines, not by tokenization).
  [['jina-v1-en', 'jina-v2-code', 'roberta-bpe'], spec('gpt2', [GPT2_PATTERN])],
  [['jais-2'], spec('jais2', [CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}`])],
  [['gemma4', 'granite-embed-multi-311m'], GEMMA4_SPEC],
  [['sarvam-moe'], spec('sarvam-moe', [NEWLINES_PATTERN], { byteLevel: false, escapeWhitespace: true })],
  [['whitespace'], spec('whitespace', [String.raw`\S+`], { byteLevel: false })],
  [['refact'], spec('refact', STARCODER_RULES)],
  [['command-r'], spec('command-r', STARCODER_RULES)],
  [['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'megrez'], spec('qwen2', [QWEN2_PATTERN])],
  [['qwen35'], spec('qwen35', [QWEN35_PATTERN])],
  [['stablelm2'], spec('stablelm2', [QWEN2_PATTERN])],
  [['olmo'], spec('olmo', [GPT2_PATTERN])],
  [['dbrx'], spec('dbrx', [LLAMA3_PATTERN])],
  [['smaug-bpe'], spec('smaug', [LLAMA3_PATTERN])],
  [['poro-chat'], spec('poro', [BLOOM_PATTERN])],
  [['glm4', 'chatglm-bpe'], spec('chatglm4', [LLAMA3_PATTERN], { noDefaultBos: true })],
  [['viking'], spec('viking', [BLOOM_PATTERN, String.raw`\p{N}`])],
  [['jais'], spec('jais', [GPT2_PATTERN])],
  [['tekken'], spec('tekken', [String.raw`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`], { ignoreMerges: true, addBos: true })],
  [['smollm'], spec('smollm', STARCODER_RULES)],
  [['codeshell'], spec('codeshell', STARCODER_RULES)],
  [['bloom'], spec('bloom', [BLOOM_PATTERN])],
  [['gpt3-finnish'], spec('gpt3-finnish', [BLOOM_PATTERN])],
  [['exaone'], spec('exaone', STARCODER_RULES)],
  [['exaone-moe'], spec('exaone-moe', [CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+`])],
  [['chameleon'], spec('chameleon', ['<sentinel:[0-9]+>', '(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z', '([\\t\\n]|    |  )', String.raw`\p{N}`, String.raw`[\p{P}!-/:-@\[-` + '`' + '{-~]', GPT2_PATTERN], { addBos: true })],
  [['minerva-7b'], spec('minerva', STARCODER_RULES)],
  [['gpt-4o', 'llama4', 'kanana2', 'talkie'], spec('gpt4o', [gpt4oRule(String.raw`\p{L}`, `${CONTRACTIONS}?`)])],
  [['minimax-m2'], spec('minimax-m2', [gpt4oRule(String.raw`\p{L}`, `${CONTRACTIONS}?`)])],
  [['granite-embed-multi-97m'], spec('granite-emb-multi', [gpt4oRule(String.raw`\p{L}\p{M}`, `${CONTRACTIONS}?`)], { ignoreMerges: true })],
  [['tiny_aya', 'cohere2moe'], spec('tiny-aya', [TINY_AYA_DIGITS_PATTERN, CASED_WORDS + String.raw`|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`])],
  [['superbpe'], spec('superbpe', [String.raw`\p{N}+`, String.raw`(?=(\d{3})+(?!\d))`])],
  [['trillion'], spec('trillion', [GPT2_PATTERN])],
  [['granite-docling'], spec('granite-docling', [GPT2_PATTERN])],
  [['bailingmoe', 'bailingmoe2', 'llada-moe'], spec('bailingmoe', [String.raw`'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`])],
  [['seed-coder'], spec('seed-coder', [CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`])],
  [['hunyuan'], spec('hunyuan', [QWEN2_PATTERN])],
  [['kimi-k2'], spec('kimi-k2', [KIMI_K2_PATTERN])],
  [['grok-2'], spec('grok-2', [QWEN2_PATTERN])],
  [
    ['afmoe'],
    spec('afmoe', [
      AFMOE_DIGITS_PATTERN,
      String.raw`[\u{4E00}-\u{9FFF}\u{3400}-\u{4DBF}\u{8C48}-\u{FAFF}\u{3040}-\u{309F}\u{30A0}-\u{30FF}\u{FF65}-\u{FF9F}\u{2F00}-\u{2FDF}\u{E40}-\u{E7F}\u{E80}-\u{EFF}\u{1780}-\u{17FF}\u{1000}-\u{109F}\u{AA60}-\u{AA7F}\u{A9E0}-\u{A9FF}\u{AC00}-\u{D7AF}\u{1100}-\u{11FF}]+`,
      DEEPSEEK3_MAIN,
    ]),
  ],
  [['laguna'], spec('laguna', [NEWLINES_PATTERN, QWEN2_PATTERN])],
  [['solar-open'], spec('solar-open', [QWEN2_PATTERN])],
  [['mellum2'], spec('mellum2', STARCODER_RULES)],
];

const PRE_TOKENIZERS: ReadonlyMap<string, PreTokenizerSpec> = new Map(PRE_TOKENIZER_TYPES.flatMap(([names, s]) => names.map((name) => [name, s] as const)));

/** The spec for a `tokenizer.ggml.pre` value (missing or empty = llama.cpp's default rules), or undefined if unknown. */
export function preTokenizerSpec(name: string | undefined): PreTokenizerSpec | undefined {
  return PRE_TOKENIZERS.get(name === undefined || name === '' ? 'default' : name);
}

/** Names accepted by {@link preTokenizerSpec}, in llama.cpp's order, for error messages and docs. */
export function supportedPreTokenizers(): string[] {
  return [...PRE_TOKENIZERS.keys()];
}

// ---------------------------------------------------------------------------------------------------
// Code point classes as the scanners see them. Out-of-range positions read as 0 ("no class at all").

const F_NUMBER = 1;
const F_LETTER = 2;
const F_WHITESPACE = 4;
const F_OTHER = 8;
const F_MARK = 16;

function scanFlags(cp: number): number {
  const category = categoryOf(cp);
  let f = category === Category.NUMBER ? F_NUMBER : category === Category.LETTER ? F_LETTER : category === Category.MARK ? F_MARK : F_OTHER;
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

/** `[^\s\p{L}\p{N}]` for a code point's flags (0 = outside the range: no match). */
const isSymbolish = (f: number) => f !== 0 && (f & (F_WHITESPACE | F_LETTER | F_NUMBER)) === 0;
/** `[^\s\p{L}\p{M}\p{N}]` (Qwen 3.5). */
const isSymbolishNoMark = (f: number) => f !== 0 && (f & (F_WHITESPACE | F_LETTER | F_NUMBER | F_MARK)) === 0;

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
    pos = whitespaceTail(c, pos, end, false);
  }
};

/**
 * The whitespace alternatives every scanner ends with: `\s*[\r\n]+` (when `newlines`), `\s+(?!\S)`, `\s+`,
 * else one code point on its own. Emits the word and returns the position after it.
 */
function whitespaceTail(c: ScanCursor, pos: number, end: number, newlines: boolean): number {
  const { count, lastNewlineEnd } = c.whitespaceRun(pos);
  if (newlines && lastNewlineEnd > 0) {
    pos = lastNewlineEnd;
  } else if (count > 1 && pos + count < end) {
    pos += count - 1; // `\s+(?!\S)`: leave the last space to prefix the next word
  } else if (count > 0) {
    pos += count;
  } else {
    pos++;
  }
  c.emit(pos);
  return pos;
}

/** Emits ` ?[^\s\p{L}\p{N}]+[\r\n]*` from pos (the caller checked it matches); returns its end. */
function symbolRun(c: ScanCursor, pos: number, symbolish: (flags: number) => boolean): number {
  if (c.cp(pos) === 0x20) pos++;
  while (symbolish(c.flags(pos))) pos++;
  while (c.cp(pos) === 0x0d || c.cp(pos) === 0x0a) pos++;
  c.emit(pos);
  return pos;
}

/** Emits `\p{N}{1,groupSize}` groups from pos; returns the end of the digit run. */
function digitGroups(c: ScanCursor, pos: number, groupSize: number): number {
  let groupStart = pos;
  while (c.flags(pos) & F_NUMBER) {
    if (++pos - groupStart >= groupSize) {
      c.emit(pos);
      groupStart = pos;
    }
  }
  c.emit(pos);
  return pos;
}

/**
 * The Llama 3 family of scanners: {@link LLAMA3_PATTERN} (digits by three), {@link QWEN2_PATTERN} (single
 * digits) and {@link QWEN35_PATTERN} (single digits, combining marks count as letters).
 */
function llama3Scanner(digitGroup: number, marksAreLetters: boolean): Scanner {
  const letterish = marksAreLetters ? F_LETTER | F_MARK : F_LETTER;
  const symbolish = marksAreLetters ? isSymbolishNoMark : isSymbolish;
  return (cpts, begin, end, out) => {
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
      // `[^\r\n\p{L}\p{N}]?\p{L}+` (or `[\p{L}\p{M}]+`)
      if (!(cp === 0x0d || cp === 0x0a || flags & F_NUMBER) && (flags & letterish || c.flags(pos + 1) & letterish)) {
        pos++;
        while (c.flags(pos) & letterish) pos++;
        c.emit(pos);
        continue;
      }
      // `\p{N}{1,3}` or `\p{N}`
      if (flags & F_NUMBER) {
        pos = digitGroups(c, pos, digitGroup);
        continue;
      }
      // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
      if (symbolish(c.flags(cp === 0x20 ? pos + 1 : pos))) {
        pos = symbolRun(c, pos, symbolish);
        continue;
      }
      pos = whitespaceTail(c, pos, end, true);
    }
  };
}

/** Kimi K2 (llama.cpp's `unicode_regex_split_custom_kimi_k2`): Han runs, then letter words without Han. */
const scanKimiK2: Scanner = (cpts, begin, end, out) => {
  const c = new ScanCursor(cpts, end, begin, out);
  const isLetterNotHan = (pos: number) => (c.flags(pos) & F_LETTER) !== 0 && !isHan(c.cp(pos));
  for (let pos = begin; pos < end; ) {
    const cp = c.cp(pos);
    const flags = c.flags(pos);
    if (isHan(cp)) {
      while (isHan(c.cp(pos))) pos++;
      c.emit(pos);
      continue;
    }
    // `[^\r\n\p{L}\p{N}]?` + letters excluding Han + an optional contraction
    const canLead = !(cp === 0x0d || cp === 0x0a || flags & (F_LETTER | F_NUMBER));
    if (isLetterNotHan(pos) || (canLead && isLetterNotHan(pos + 1))) {
      if (canLead) pos++;
      while (isLetterNotHan(pos)) pos++;
      pos += c.contraction(pos, true);
      c.emit(pos);
      continue;
    }
    if (flags & F_NUMBER) {
      pos = digitGroups(c, pos, 3);
      continue;
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    if (isSymbolish(c.flags(cp === 0x20 ? pos + 1 : pos))) {
      pos = symbolRun(c, pos, isSymbolish);
      continue;
    }
    pos = whitespaceTail(c, pos, end, true);
  }
};

/**
 * AFMoE's digit rule (llama.cpp also runs Tiny Aya's `\d{1,3}(?=(?:\d{3})*\b)` through it): a digit run is cut
 * into a leading 1-2 digits and groups of three. As in llama.cpp, the text before a digit run joins its
 * first group; text after the last run stays one word.
 */
const scanAfmoeDigits: Scanner = (cpts, begin, end, out) => {
  const c = new ScanCursor(cpts, end, begin, out);
  for (let pos = begin; pos < end; ) {
    if (!(c.flags(pos) & F_NUMBER)) {
      pos++;
      continue;
    }
    const digitStart = pos;
    while (pos < end && c.flags(pos) & F_NUMBER) pos++;
    const count = pos - digitStart;
    let current = digitStart + (count % 3);
    if (current > digitStart) c.emit(current);
    while (current < pos) {
      current += 3;
      c.emit(current);
    }
  }
  c.emit(end);
};

/** `[^\n]+|[\n]+`: runs of newlines and runs of everything else. */
const scanNewlines: Scanner = (cpts, begin, end, out) => {
  const c = new ScanCursor(cpts, end, begin, out);
  for (let pos = begin; pos < end; ) {
    const newline = cpts[pos] === 0x0a;
    while (pos < end && (cpts[pos] === 0x0a) === newline) pos++;
    c.emit(pos);
  }
};

/** Han ideographs as llama.cpp's `unicode_cpt_is_han` lists them. */
const HAN_RANGES: readonly CodepointRange[] = [
  [0x4e00, 0x9fff], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x2a700, 0x2b73f], [0x2b740, 0x2b81f],
  [0x2b820, 0x2ceaf], [0x2ceb0, 0x2ebef], [0xf900, 0xfaff], [0x2f800, 0x2fa1f],
];
const isHan = (cp: number) => inRanges(cp, HAN_RANGES);

/** Rules llama.cpp runs through hand-written scanners, by their exact pattern text. */
const SCANNERS: ReadonlyMap<string, Scanner> = new Map([
  [GPT2_PATTERN, scanGpt2],
  [LLAMA3_PATTERN, llama3Scanner(3, false)],
  [QWEN2_PATTERN, llama3Scanner(1, false)],
  [QWEN35_PATTERN, llama3Scanner(1, true)],
  [KIMI_K2_PATTERN, scanKimiK2],
  [AFMOE_DIGITS_PATTERN, scanAfmoeDigits],
  [TINY_AYA_DIGITS_PATTERN, scanAfmoeDigits],
  [NEWLINES_PATTERN, scanNewlines],
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
  S: '\\xD5\\$\\+<=>\\^`\\|~',
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
    const matchBegin = toCpt(from + m.index);
    if (m[0].length === 0) {
      // An empty match (SuperBPE's lookahead) still cuts the text there, as in std::regex_iterator.
      if (matchBegin > last) out.push(matchBegin - last);
      last = matchBegin;
      regex.lastIndex += rule.collapsed ? 1 : (segment.codePointAt(regex.lastIndex) ?? 0) > 0xffff ? 2 : 1;
      continue;
    }
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
