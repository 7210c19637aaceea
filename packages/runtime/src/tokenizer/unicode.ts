/**
 * Unicode facts the tokenizers need, classified the way llama.cpp's `unicode_cpt_flags` does: every code
 * point has exactly one general-category group (unassigned, surrogate, private-use and format code points
 * all count as "other"), plus the White_Space property. JS's own `\p{..}` tables provide the data, so
 * results follow the Unicode version of the running engine (llama.cpp's tables are a little older; the two
 * differ only on code points assigned since).
 */

/** General-category groups, as llama.cpp distinguishes them. */
export const Category = {
  NUMBER: 1,
  LETTER: 2,
  PUNCTUATION: 3,
  SYMBOL: 4,
  MARK: 5,
  SEPARATOR: 6,
  /** Cc, Cf, Cs, Co and unassigned (Cn). */
  OTHER: 7,
} as const;
export type Category = (typeof Category)[keyof typeof Category];

const CATEGORY_MASK = 0x07;
const WHITESPACE_BIT = 0x08;

const CLASSIFIER = /^(?:(\p{N})|(\p{L})|(\p{P})|(\p{S})|(\p{M})|(\p{Z}))$/u;
const WHITE_SPACE = /^\p{White_Space}$/u;

/** One byte per code point (category | whitespace bit); 0 = not classified yet. Filled on demand. */
let flagTable: Uint8Array | undefined;

function classify(cp: number): number {
  const ch = String.fromCodePoint(cp);
  const m = CLASSIFIER.exec(ch);
  let category: number = Category.OTHER;
  if (m !== null) {
    for (let group = 1; group <= 6; group++) {
      if (m[group] !== undefined) {
        category = group;
        break;
      }
    }
  }
  return category | (WHITE_SPACE.test(ch) ? WHITESPACE_BIT : 0);
}

function flagsOf(cp: number): number {
  flagTable ??= new Uint8Array(0x110000);
  let f = flagTable[cp] ?? 0;
  if (f === 0) {
    f = classify(cp);
    flagTable[cp] = f;
  }
  return f;
}

/** The general-category group of a code point (0..0x10FFFF). */
export function categoryOf(cp: number): Category {
  return (flagsOf(cp) & CATEGORY_MASK) as Category;
}

/** Whether a code point has the Unicode White_Space property (the set llama.cpp calls whitespace). */
export function isWhitespace(cp: number): boolean {
  return (flagsOf(cp) & WHITESPACE_BIT) !== 0;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The string with every lone surrogate replaced by U+FFFD: what a UTF-8 round trip (and so llama.cpp,
 * which works on UTF-8 bytes) makes of it. Everything downstream may then assume well-formed text.
 */
export function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a well-formed string. */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Code points of a well-formed string, and for each the UTF-16 offset where it starts (plus the end). */
export function codepointsOf(text: string): { cpts: Uint32Array; utf16Offsets: Uint32Array } {
  const cpts = new Uint32Array(text.length);
  const utf16Offsets = new Uint32Array(text.length + 1);
  let n = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i) as number;
    cpts[n] = cp;
    utf16Offsets[n] = i;
    n++;
    i += cp > 0xffff ? 2 : 1;
  }
  utf16Offsets[n] = text.length;
  return { cpts: cpts.subarray(0, n), utf16Offsets: utf16Offsets.subarray(0, n + 1) };
}

/**
 * GPT-2's byte-level alphabet: each byte is shown as a printable code point (printable Latin-1 bytes as
 * themselves, the other 68 bytes as U+0100.. in byte order), so any byte string becomes a token-safe text.
 */
function buildByteAlphabet(): { byteToChar: string[]; charToByte: Map<number, number> } {
  const byteToChar: string[] = new Array<string>(256);
  const charToByte = new Map<number, number>();
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    const cp = printable(b) ? b : 256 + next++;
    byteToChar[b] = String.fromCodePoint(cp);
    charToByte.set(cp, b);
  }
  return { byteToChar, charToByte };
}

const BYTE_ALPHABET = buildByteAlphabet();

/** The GPT-2 byte-level text of a well-formed string: its UTF-8 bytes, each shown as one alphabet char. */
export function byteLevelEncode(text: string): string {
  const bytes = utf8Encode(text);
  let out = '';
  for (const b of bytes) out += BYTE_ALPHABET.byteToChar[b] as string;
  return out;
}

/** The byte a GPT-2 alphabet code point stands for, or undefined if the code point is not in the alphabet. */
export function byteOfAlphabetChar(cp: number): number | undefined {
  return BYTE_ALPHABET.charToByte.get(cp);
}

/** `<0xNN>` (upper-case hex), the SentencePiece name of a byte token. */
export function byteTokenText(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}

const UNASSIGNED = /^\p{Cn}$/u;

/**
 * llama.cpp's `is_control` (\p{C} without unassigned code points, which its tables flag as "undefined"
 * instead): Cc, Cf, Co and Cs.
 */
export function isControl(cp: number): boolean {
  return categoryOf(cp) === Category.OTHER && !UNASSIGNED.test(String.fromCodePoint(cp));
}

/**
 * Simple (one code point to one) lowercase mapping, as llama.cpp's `unicode_tolower` table holds it:
 * where the full mapping expands (U+0130 gives "i" + U+0307) the first code point is the simple one.
 */
export function toLowerCodepoint(cp: number): number {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? cp + 32 : cp;
  return String.fromCodePoint(cp).toLowerCase().codePointAt(0) as number;
}

/** llama.cpp's one-to-one "NFD": the first code point of a code point's canonical decomposition (é gives e). */
export function nfdFirstCodepoint(cp: number): number {
  if (cp < 0xc0) return cp;
  return String.fromCodePoint(cp).normalize('NFD').codePointAt(0) as number;
}

/** An inclusive code point range. */
export type CodepointRange = readonly [first: number, last: number];

/** Whether cp falls in one of the ranges. */
export function inRanges(cp: number, ranges: readonly CodepointRange[]): boolean {
  for (const [first, last] of ranges) if (cp >= first && cp <= last) return true;
  return false;
}
