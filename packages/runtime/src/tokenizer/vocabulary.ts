/**
 * The vocabulary as llama.cpp's `llama_vocab::load` builds it from GGUF metadata: token texts, scores and
 * attributes, BPE merge ranks, special token ids, the end-of-generation set and the tokenizer flags, with
 * the same defaults and the same text-based fix-ups (EOT/EOG detection, forced CONTROL attributes,
 * Phi-3's right-stripping specials). See `createTokenizer` for the public entry.
 */
import { MetadataError, MetadataValueType, type ModelMetadata } from '@smallmind/io-smq';
import { TokenizerError } from './errors.js';
import { preTokenizerSpec, supportedPreTokenizers, type PreTokenizerSpec } from './pre-tokenizer.js';

/** Token types as stored in `tokenizer.ggml.token_type`. */
export const TokenType = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type TokenType = (typeof TokenType)[keyof typeof TokenType];

/** Token attributes (a bit set) derived from the type plus llama.cpp's fix-ups. */
export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
} as const;

const ATTR_OF_TYPE: Readonly<Record<number, number>> = {
  [TokenType.NORMAL]: TokenAttr.NORMAL,
  [TokenType.UNKNOWN]: TokenAttr.UNKNOWN,
  [TokenType.CONTROL]: TokenAttr.CONTROL,
  [TokenType.USER_DEFINED]: TokenAttr.USER_DEFINED,
  [TokenType.UNUSED]: TokenAttr.UNUSED,
  [TokenType.BYTE]: TokenAttr.BYTE,
};

/** `spm` (SentencePiece), `bpe` (byte-level or SentencePiece-style BPE) or `wpm` (BERT's WordPiece). */
export type TokenizerKind = 'spm' | 'bpe' | 'wpm';

/** `tokenizer.ggml.model` values we implement, with the tokenizer each builds. */
const SUPPORTED_MODELS = 'llama (SPM), gpt2, gemma4 and whitespace (BPE), bert (WPM)';

/** Special token ids; undefined where the vocabulary has none. */
export interface SpecialTokens {
  bos: number | undefined;
  eos: number | undefined;
  eot: number | undefined;
  eom: number | undefined;
  unk: number | undefined;
  sep: number | undefined;
  pad: number | undefined;
  mask: number | undefined;
  fimPre: number | undefined;
  fimSuf: number | undefined;
  fimMid: number | undefined;
  fimPad: number | undefined;
  fimRep: number | undefined;
  fimSep: number | undefined;
}

export interface Vocabulary {
  readonly kind: TokenizerKind;
  readonly tokens: readonly string[];
  readonly scores: Float32Array;
  /** {@link TokenAttr} bits per token. */
  readonly attrs: Uint16Array;
  readonly tokenToId: ReadonlyMap<string, number>;
  /** BPE merge rank by `"left right"`; empty for SPM. */
  readonly mergeRanks: ReadonlyMap<string, number>;
  /** BPE only. */
  readonly preTokenizer: PreTokenizerSpec | undefined;
  readonly special: Readonly<SpecialTokens>;
  readonly eog: ReadonlySet<number>;
  /** Control, user-defined and unknown tokens, longest text first: the order special tokens are cut out. */
  readonly specialTokensByLength: readonly number[];
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  /** Spaces are written as U+2581 in token texts (SPM, WPM, and SentencePiece-style BPE such as Gemma 4). */
  readonly escapeWhitespace: boolean;
  /** BertNormalizer's lowercasing for WPM and the whitespace model (`tokenizer.ggml.normalizer.lowercase`, default true). */
  readonly lowercase: boolean;
  /** WPM: drop accents after NFD (`tokenizer.ggml.normalizer.strip_accents`, default = lowercase). */
  readonly stripAccents: boolean;
  /** Longest token text in UTF-8 bytes (WPM's longest-match window). */
  readonly maxTokenBytes: number;
  /** `tokenizer.ggml.model` = whitespace: whitespace is dropped and each run between is BPE-encoded alone. */
  readonly dropWhitespace: boolean;
}

const KEY = {
  model: 'tokenizer.ggml.model',
  pre: 'tokenizer.ggml.pre',
  tokens: 'tokenizer.ggml.tokens',
  scores: 'tokenizer.ggml.scores',
  tokenType: 'tokenizer.ggml.token_type',
  merges: 'tokenizer.ggml.merges',
  addBos: 'tokenizer.ggml.add_bos_token',
  addEos: 'tokenizer.ggml.add_eos_token',
  addSpacePrefix: 'tokenizer.ggml.add_space_prefix',
  lowercase: 'tokenizer.ggml.normalizer.lowercase',
  stripAccents: 'tokenizer.ggml.normalizer.strip_accents',
  name: 'general.name',
  architecture: 'general.architecture',
} as const;

/** Where each special id is read from (later keys in a row are deprecated spellings of the same id). */
const SPECIAL_ID_KEYS: ReadonlyArray<readonly [keyof SpecialTokens, string]> = [
  ['bos', 'tokenizer.ggml.bos_token_id'],
  ['eos', 'tokenizer.ggml.eos_token_id'],
  ['eot', 'tokenizer.ggml.eot_token_id'],
  ['eom', 'tokenizer.ggml.eom_token_id'],
  ['unk', 'tokenizer.ggml.unknown_token_id'],
  ['sep', 'tokenizer.ggml.seperator_token_id'],
  ['pad', 'tokenizer.ggml.padding_token_id'],
  ['mask', 'tokenizer.ggml.mask_token_id'],
  ['fimPre', 'tokenizer.ggml.fim_pre_token_id'],
  ['fimSuf', 'tokenizer.ggml.fim_suf_token_id'],
  ['fimMid', 'tokenizer.ggml.fim_mid_token_id'],
  ['fimPad', 'tokenizer.ggml.fim_pad_token_id'],
  ['fimRep', 'tokenizer.ggml.fim_rep_token_id'],
  ['fimSep', 'tokenizer.ggml.fim_sep_token_id'],
  ['fimPre', 'tokenizer.ggml.prefix_token_id'],
  ['fimSuf', 'tokenizer.ggml.suffix_token_id'],
  ['fimMid', 'tokenizer.ggml.middle_token_id'],
];

/**
 * Token texts that identify special tokens when the metadata does not name them. Earlier entries win
 * when a vocabulary has several (llama.cpp takes whichever its hash map yields first; the list order
 * gives e.g. Qwen's `<|im_end|>` over `<|endoftext|>` as EOT, which is what llama.cpp reports for it).
 */
const TEXT_DETECTED: ReadonlyArray<readonly [keyof SpecialTokens, readonly string[]]> = [
  ['eot', ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>']],
  ['eom', ['<|eom_id|>']],
  ['fimPre', ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>']],
  ['fimSuf', ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>']],
  ['fimMid', ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>']],
  ['fimPad', ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]']],
  ['fimRep', ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>']],
  ['fimSep', ['<|file_sep|>']],
];

/** Token texts that end generation wherever they occur in a vocabulary. */
const EOG_TEXTS: ReadonlySet<string> = new Set([
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>', '<|endoftext|>',
  '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<turn|>',
  '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
]);

/** Runs a typed metadata read, turning a type mismatch into a TokenizerError naming the key. */
function read<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof MetadataError) {
      throw new TokenizerError(e.actual === undefined ? 'MISSING_KEY' : 'INVALID_METADATA', e.key, e.message, { cause: e });
    }
    throw e;
  }
}

function optionalBool(md: ModelMetadata, key: string): boolean | undefined {
  return md.has(key) ? read(() => md.getBool(key)) : undefined;
}

function optionalNumbers(md: ModelMetadata, key: string, nTokens: number): number[] | undefined {
  if (!md.has(key)) return undefined;
  const values = read(() => md.getNumberArray(key));
  if (values.length < nTokens) {
    throw new TokenizerError('INVALID_METADATA', key, `${key} has ${values.length} entries for ${nTokens} tokens`);
  }
  return values;
}

function noSpecialTokens(): SpecialTokens {
  return { bos: undefined, eos: undefined, eot: undefined, eom: undefined, unk: undefined, sep: undefined, pad: undefined, mask: undefined, fimPre: undefined, fimSuf: undefined, fimMid: undefined, fimPad: undefined, fimRep: undefined, fimSep: undefined };
}

/** Builds the vocabulary from `tokenizer.ggml.*` metadata. Throws {@link TokenizerError}. */
export function loadVocabulary(md: ModelMetadata): Vocabulary {
  const model = read(() => md.getString(KEY.model));
  const special = noSpecialTokens();
  let kind: TokenizerKind;
  let preTokenizer: PreTokenizerSpec | undefined;
  let addBos = false;
  let addEos = false;
  let addSpacePrefix = false;
  let escapeWhitespace = false;
  if (model === 'llama') {
    kind = 'spm';
    Object.assign(special, { bos: 1, eos: 2, unk: 0 });
    addBos = true;
    addSpacePrefix = true;
    escapeWhitespace = true;
  } else if (model === 'bert') {
    // llama.cpp's WPM: [CLS] = BOS 101, [UNK] 100, [SEP] 102, [PAD] 0, [MASK] 103 unless the file says otherwise.
    kind = 'wpm';
    Object.assign(special, { bos: 101, unk: 100, sep: 102, pad: 0, mask: 103 });
    addBos = true;
    escapeWhitespace = true;
  } else if (model === 'gpt2' || model === 'gemma4' || model === 'whitespace') {
    kind = 'bpe';
    // Gemma 4 is always SentencePiece-style BPE whatever `pre` says; GPT-2 files default to ids 11.
    const preName = model === 'gemma4' ? 'gemma4' : md.has(KEY.pre) ? read(() => md.getString(KEY.pre)) : undefined;
    preTokenizer = preTokenizerSpec(preName);
    if (preTokenizer === undefined) {
      throw new TokenizerError('UNSUPPORTED_PRE_TOKENIZER', KEY.pre, `unknown BPE pre-tokenizer "${preName}" (supported: ${supportedPreTokenizers().join(', ')})`);
    }
    if (model !== 'gemma4') Object.assign(special, { bos: preTokenizer.noDefaultBos ? undefined : 11, eos: 11 });
    addBos = preTokenizer.addBos;
    escapeWhitespace = preTokenizer.escapeWhitespace;
  } else {
    throw new TokenizerError('UNSUPPORTED_MODEL', KEY.model, `tokenizer model "${model}" is not supported (supported: ${SUPPORTED_MODELS})`);
  }
  addSpacePrefix = optionalBool(md, KEY.addSpacePrefix) ?? addSpacePrefix;

  // Tokens, scores, attributes.
  const rawTokens = read(() => md.getStringArray(KEY.tokens));
  const nTokens = rawTokens.length;
  if (nTokens === 0) throw new TokenizerError('INVALID_METADATA', KEY.tokens, `${KEY.tokens} is empty`);
  const scoreValues = optionalNumbers(md, KEY.scores, nTokens);
  const typeValues = optionalNumbers(md, KEY.tokenType, nTokens);
  const tokens: string[] = new Array<string>(nTokens);
  const scores = new Float32Array(nTokens);
  const attrs = new Uint16Array(nTokens);
  const tokenToId = new Map<string, number>();
  for (let id = 0; id < nTokens; id++) {
    const text = rawTokens[id] === '' ? `[EMPTY_${id}]` : (rawTokens[id] as string);
    const previous = tokenToId.get(text);
    if (previous !== undefined) {
      throw new TokenizerError('DUPLICATE_TOKEN', `${KEY.tokens}[${id}]`, `token ${JSON.stringify(text)} appears at ids ${previous} and ${id}`);
    }
    tokenToId.set(text, id);
    tokens[id] = text;
    scores[id] = scoreValues?.[id] ?? 0;
    attrs[id] = typeValues === undefined ? TokenAttr.NORMAL : (ATTR_OF_TYPE[typeValues[id] as number] ?? TokenAttr.UNDEFINED);
  }

  // Kimi K2 files may carry no merges at all (llama.cpp then merges nothing).
  const mergesOptional = preTokenizer?.type === 'kimi-k2' && !md.has(KEY.merges);
  const mergeRanks = kind === 'bpe' && !mergesOptional ? loadMergeRanks(md) : new Map<string, number>();

  // Special ids: a default outside the vocabulary is dropped; a metadata id outside it is ignored.
  for (const key of Object.keys(special) as Array<keyof SpecialTokens>) {
    const id = special[key];
    if (id !== undefined && id >= nTokens) special[key] = undefined;
  }
  for (const [field, key] of SPECIAL_ID_KEYS) {
    if (!md.has(key)) continue;
    const id = read(() => md.getInteger(key));
    if (id >= 0 && id < nTokens) special[field] = id;
  }

  addBos = optionalBool(md, KEY.addBos) ?? addBos;
  addEos = optionalBool(md, KEY.addEos) ?? addEos;
  if (preTokenizer?.gemma4 === true) addBos = true; // llama.cpp overrides Gemma 4 files that say false
  if (addBos && special.bos === undefined) throw new TokenizerError('INVALID_METADATA', KEY.addBos, `${KEY.addBos} is true but the vocabulary has no BOS token`);
  if (addEos && special.eos === undefined) throw new TokenizerError('INVALID_METADATA', KEY.addEos, `${KEY.addEos} is true but the vocabulary has no EOS token`);

  const forceControl = (id: number) => {
    attrs[id] = (attrs[id] as number) | TokenAttr.CONTROL;
  };
  for (const [field, texts] of TEXT_DETECTED) {
    if (special[field] !== undefined) continue;
    for (const text of texts) {
      const id = tokenToId.get(text);
      if (id !== undefined) {
        special[field] = id;
        forceControl(id);
        break;
      }
    }
  }
  // Control tokens named "unused..." are placeholders.
  for (let id = 0; id < nTokens; id++) {
    if ((attrs[id] as number) & TokenAttr.CONTROL && (tokens[id] as string).includes('unused')) attrs[id] = (attrs[id] as number) | TokenAttr.UNUSED;
  }

  const eog = buildEndOfGeneration(attrs, tokenToId, special);
  applyModelSpecificAttrs(md, tokens, attrs, tokenToId);

  const specialTokensByLength: number[] = [];
  for (let id = 0; id < nTokens; id++) {
    if ((attrs[id] as number) & (TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN)) specialTokensByLength.push(id);
  }
  specialTokensByLength.sort((a, b) => (tokens[b] as string).length - (tokens[a] as string).length || a - b);

  // BertNormalizer options (llama.cpp reads them for every model; WPM and the whitespace model use them).
  // llama.cpp turns lowercasing off for the `whitespace` pre-tokenizer unless the file says otherwise.
  const lowercase = optionalBool(md, KEY.lowercase) ?? preTokenizer?.type !== 'whitespace';
  const stripAccents = optionalBool(md, KEY.stripAccents) ?? lowercase;
  let maxTokenBytes = 0;
  for (const text of tokens) maxTokenBytes = Math.max(maxTokenBytes, utf8Length(text));

  return { kind, tokens, scores, attrs, tokenToId, mergeRanks, preTokenizer, special, eog, specialTokensByLength, addBos, addEos, addSpacePrefix, escapeWhitespace, lowercase, stripAccents, maxTokenBytes, dropWhitespace: model === 'whitespace' };
}

/** UTF-8 length of a string without allocating. */
function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function loadMergeRanks(md: ModelMetadata): Map<string, number> {
  const merges = read(() => md.getArray(KEY.merges, MetadataValueType.STRING)).values as readonly string[];
  const ranks = new Map<string, number>();
  for (let rank = 0; rank < merges.length; rank++) {
    const merge = merges[rank] as string;
    // llama.cpp splits at the first space after position 0; lookups are always "left right" with no
    // other space, so the merge text itself is the key (first occurrence wins, as with emplace).
    if (merge.indexOf(' ', 1) > 0 && !ranks.has(merge)) ranks.set(merge, rank);
  }
  return ranks;
}

function buildEndOfGeneration(attrs: Uint16Array, tokenToId: ReadonlyMap<string, number>, special: SpecialTokens): Set<number> {
  const eog = new Set<number>();
  for (const id of [special.fimPad, special.fimRep, special.fimSep]) if (id !== undefined) eog.add(id);
  for (const text of EOG_TEXTS) {
    const id = tokenToId.get(text);
    if (id === undefined) continue;
    eog.add(id);
    attrs[id] = (attrs[id] as number) | TokenAttr.CONTROL;
  }
  // gpt-oss renders these channel markers as text.
  for (const text of ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>']) {
    const id = tokenToId.get(text);
    if (id !== undefined) attrs[id] = TokenAttr.USER_DEFINED;
  }
  for (const id of [special.eos, special.eot, special.eom]) if (id !== undefined) eog.add(id);

  const has = (text: string) => {
    const id = tokenToId.get(text);
    return id !== undefined && eog.has(id) ? id : undefined;
  };
  // Harmony / Solar-Open: `<|end|>` ends a message, not the generation.
  const end = has('<|end|>');
  if (end !== undefined && ((has('<|return|>') !== undefined && has('<|call|>') !== undefined) || (has('<|calls|>') !== undefined && has('<|flush|>') !== undefined))) {
    eog.delete(end);
    attrs[end] = TokenAttr.USER_DEFINED;
  }
  // Gemma 4: `</s>` is ordinary text there.
  const closeS = has('</s>');
  if (closeS !== undefined && has('<|tool_response>') !== undefined) {
    eog.delete(closeS);
    attrs[closeS] = TokenAttr.NORMAL;
  }
  return eog;
}

/** Attributes llama.cpp sets by model name: Phi-3's specials swallow the whitespace after them, etc. */
function applyModelSpecificAttrs(md: ModelMetadata, tokens: readonly string[], attrs: Uint16Array, tokenToId: ReadonlyMap<string, number>): void {
  const readText = (key: string) => (md.has(key) ? read(() => md.getString(key)) : '');
  const name = readText(KEY.name).toLowerCase();
  const pre = readText(KEY.pre);
  const arch = readText(KEY.architecture);
  const set = (text: string, bit: number, on: boolean) => {
    const id = tokenToId.get(text);
    if (id !== undefined) attrs[id] = on ? (attrs[id] as number) | bit : (attrs[id] as number) & ~bit;
  };
  if (['jina-v2-de', 'jina-v2-es', 'jina-v2-code'].some((s) => pre.includes(s)) || ['nomic-bert-moe', 'jina-bert-v3'].some((s) => arch.includes(s))) {
    set('<mask>', TokenAttr.LSTRIP, true);
  } else if (name.includes('phi-3') || name.includes('phi3')) {
    for (let id = 0; id < tokens.length; id++) {
      if ((attrs[id] as number) & (TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN)) attrs[id] = (attrs[id] as number) | TokenAttr.RSTRIP;
    }
    set('</s>', TokenAttr.RSTRIP, true);
    for (const text of ['<unk>', '<s>', '<|endoftext|>']) set(text, TokenAttr.RSTRIP, false);
  } else if (name.includes('modern-bert')) {
    set('[MASK]', TokenAttr.LSTRIP, true);
  }
}
