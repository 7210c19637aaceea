import type { Tokenizer } from '@smallmind/runtime';
import { ChatTemplateError } from './errors.js';
import { checkMessages, renderChatTemplate, type ChatContentPart, type ChatMessage, type RenderChatOptions } from './template.js';

export interface ChatPromptOptions extends RenderChatOptions {
  /** Prepend BOS unless the rendered prompt already starts with it (default: the tokenizer's `addBos`). */
  readonly addBos?: boolean;
}

export interface ChatPrompt {
  /** The rendered template. */
  readonly text: string;
  readonly tokens: number[];
}

/** Private-use code points: no template writes them, and `trim`, `upper` and friends leave them alone. */
const SENTINEL = /\uE000(\d+)\uE001/g;
const sentinel = (i: number): string => `\uE000${i}\uE001`;

/**
 * Renders `messages` with `template` and tokenizes the result so that the template's own special tokens
 * (`<|im_start|>`, `<|eot_id|>`) are control tokens while whatever the messages say is plain text: a user
 * who types `<|im_end|>` gets the characters, never the end of their turn.
 *
 * How: the template is rendered twice, once with the real contents and once with a sentinel in place of each
 * content string; the sentinel rendering tells which spans of the real one are template text (control tokens
 * parsed) and which are content (not parsed). Text between two control tokens is tokenized as one piece, as
 * llama.cpp tokenizes a whole prompt. BOS is added when the tokenizer wants one, unless the template wrote it.
 *
 * @throws ChatTemplateError (see `renderChatTemplate`; `CONTENT_NOT_ISOLATED` when the template rewrites
 * contents beyond trimming them and some content contains a control token's text).
 */
export function chatPromptTokens(template: string, messages: readonly ChatMessage[], tokenizer: Tokenizer, options: ChatPromptOptions = {}): ChatPrompt {
  checkMessages(messages);
  const renderOptions: RenderChatOptions = {
    ...options,
    bosToken: options.bosToken ?? pieceOf(tokenizer, tokenizer.bosId),
    eosToken: options.eosToken ?? pieceOf(tokenizer, tokenizer.eosId),
  };
  const text = renderChatTemplate(template, messages, renderOptions);
  const contents: string[] = [];
  const masked = messages.map((message) => ({ ...message, content: maskContent(message.content, contents) }));
  let pieces: Piece[] | undefined;
  try {
    pieces = align(text, renderChatTemplate(template, masked, renderOptions), contents);
  } catch (error) {
    // A template that inspects the contents (e.g. tests them for emptiness) may fail on sentinels.
    if (!(error instanceof ChatTemplateError)) throw error;
  }
  let tokens = pieces === undefined ? undefined : tokenizePieces(pieces, tokenizer);
  if (tokens === undefined) {
    const unsafe = contents.findIndex((c) => !sameTokens(tokenizer.encode(c, PARSE), tokenizer.encode(c, PLAIN)));
    if (unsafe >= 0) {
      throw new ChatTemplateError('CONTENT_NOT_ISOLATED', 'messages', `the template rewrites message contents, and content #${unsafe} contains a special token's text that could not be kept as plain text`);
    }
    // No content holds a control token's text, so parsing specials over the whole prompt is safe.
    tokens = tokenizer.encode(text, PARSE);
  }
  const bos = tokenizer.bosId;
  if ((options.addBos ?? tokenizer.addBos) && bos !== undefined && tokens[0] !== bos) tokens.unshift(bos);
  return { text, tokens };
}

/**
 * The fallback for a model without a chat template: `chatml` when its vocabulary has `<|im_start|>` and
 * `<|im_end|>` as control tokens (ChatML-trained models that lost their template), else `plain`, whose
 * `User:` / `Assistant:` lines need no special tokens.
 */
export function fallbackChatTemplateName(tokenizer: Tokenizer): 'chatml' | 'plain' {
  const isControlToken = (text: string): boolean => {
    const ids = tokenizer.encode(text, PARSE);
    return ids.length === 1 && controlInfo(tokenizer, ids[0]!) !== null;
  };
  return isControlToken('<|im_start|>') && isControlToken('<|im_end|>') ? 'chatml' : 'plain';
}

const PARSE = { parseSpecial: true, addBos: false, addEos: false } as const;
const PLAIN = { parseSpecial: false, addBos: false, addEos: false } as const;

function pieceOf(tokenizer: Tokenizer, id: number | undefined): string {
  return id === undefined ? '' : tokenizer.tokenToPiece(id);
}

function maskContent(content: string | readonly ChatContentPart[], contents: string[]): string | ChatContentPart[] {
  const mask = (value: string): string => {
    contents.push(value);
    return sentinel(contents.length - 1);
  };
  if (typeof content === 'string') return mask(content);
  return content.map((part) => (typeof part.text === 'string' ? { ...part, text: mask(part.text) } : part));
}

type Piece = { readonly template: string } | { readonly content: string };

/**
 * Splits the real rendering into template text and contents, guided by the sentinel rendering. A content
 * may appear trimmed (`| trim` is common); anything else leaves the rendering unaligned (undefined).
 */
function align(real: string, masked: string, contents: readonly string[]): Piece[] | undefined {
  const parts = masked.split(SENTINEL);
  // split() with a capture group interleaves: text, index, text, index, ..., text.
  const pieces: Piece[] = [{ template: parts[0]! }];
  if (!real.startsWith(parts[0]!)) return undefined;
  let pos = parts[0]!.length;
  for (let i = 1; i < parts.length; i += 2) {
    const content = contents[Number(parts[i])];
    const next = parts[i + 1]!;
    const isLast = i + 2 >= parts.length;
    if (content === undefined) return undefined;
    const fits = (candidate: string): boolean =>
      real.startsWith(candidate, pos) && real.startsWith(next, pos + candidate.length) && (!isLast || pos + candidate.length + next.length === real.length);
    const shown = [content, content.trim(), content.trimStart(), content.trimEnd()].find(fits);
    if (shown === undefined) return undefined;
    pieces.push({ content: shown }, { template: next });
    pos += shown.length + next.length;
  }
  return pos === real.length ? pieces : undefined;
}

/** What the tokenizer knows of one control token, probed once per id (its public API has no token attributes). */
interface ControlInfo {
  /** Whitespace before it is dropped when parsing (llama.cpp's LSTRIP attribute). */
  readonly lstrip: boolean;
  /** Whitespace after it is dropped (RSTRIP; e.g. every special token of phi-3). */
  readonly rstrip: boolean;
}

const controlCache = new WeakMap<Tokenizer, Map<number, ControlInfo | null>>();

/** A control token renders as text but vanishes when specials are skipped; null for any other token. */
function controlInfo(tokenizer: Tokenizer, id: number): ControlInfo | null {
  let cache = controlCache.get(tokenizer);
  if (cache === undefined) controlCache.set(tokenizer, (cache = new Map()));
  let info = cache.get(id);
  if (info === undefined) {
    const piece = tokenizer.tokenToPiece(id);
    info =
      piece !== '' && tokenizer.decode([id], { skipSpecial: true }) === ''
        ? { lstrip: sameTokens(tokenizer.encode(` ${piece}`, PARSE), [id]), rstrip: sameTokens(tokenizer.encode(`${piece} \n`, PARSE), [id]) }
        : null;
    cache.set(id, info);
  }
  return info;
}

const LEADING_SPACE = /^[ \t\n\v\f\r]+/;
const TRAILING_SPACE = /[ \t\n\v\f\r]+$/;

/** The tokens of the aligned pieces; undefined when a control token's text cannot be located in its piece. */
function tokenizePieces(pieces: readonly Piece[], tokenizer: Tokenizer): number[] | undefined {
  const tokens: number[] = [];
  // Text since the last control token: template text and contents, tokenized together without parsing
  // specials, with the whitespace next to a stripping control token dropped as the tokenizer itself does.
  let run = '';
  let afterRstrip = false;
  const flush = (before: ControlInfo | null): void => {
    if (afterRstrip) run = run.replace(LEADING_SPACE, '');
    if (before?.lstrip === true) run = run.replace(TRAILING_SPACE, '');
    if (run.length > 0) tokens.push(...tokenizer.encode(run, PLAIN));
    run = '';
  };
  for (const piece of pieces) {
    if ('content' in piece) {
      run += piece.content;
      continue;
    }
    const text = piece.template;
    const ids = tokenizer.encode(text, PARSE);
    const infos = ids.map((id) => controlInfo(tokenizer, id));
    const first = infos.findIndex((info) => info !== null);
    if (first < 0) {
      run += text;
      continue;
    }
    const last = infos.length - 1 - [...infos].reverse().findIndex((info) => info !== null);
    const headEnd = text.indexOf(tokenizer.tokenToPiece(ids[first]!));
    const lastPiece = tokenizer.tokenToPiece(ids[last]!);
    const tailStart = text.lastIndexOf(lastPiece);
    if (headEnd < 0 || tailStart < 0) return undefined;
    run += text.slice(0, headEnd);
    flush(infos[first]!);
    // Between the first and last control token the template alone speaks: its own tokenization stands.
    tokens.push(...ids.slice(first, last + 1));
    run = text.slice(tailStart + lastPiece.length);
    afterRstrip = infos[last]!.rstrip;
  }
  flush(null);
  return tokens;
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
