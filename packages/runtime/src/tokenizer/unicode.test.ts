import { describe, expect, it } from 'vitest';
import { Category, byteLevelEncode, byteOfAlphabetChar, byteTokenText, categoryOf, codepointsOf, isWhitespace, toWellFormed } from './unicode.js';

describe('code point classes (llama.cpp grouping)', () => {
  it('puts each code point in one general-category group', () => {
    expect(categoryOf(0x41)).toBe(Category.LETTER);
    expect(categoryOf(0x4e2d)).toBe(Category.LETTER); // 中
    expect(categoryOf(0x39)).toBe(Category.NUMBER);
    expect(categoryOf(0x2163)).toBe(Category.NUMBER); // Ⅳ (Nl)
    expect(categoryOf(0xbd)).toBe(Category.NUMBER); // ½ (No)
    expect(categoryOf(0x21)).toBe(Category.PUNCTUATION);
    expect(categoryOf(0x24)).toBe(Category.SYMBOL);
    expect(categoryOf(0x7e)).toBe(Category.SYMBOL); // ~ is Sm
    expect(categoryOf(0x1f600)).toBe(Category.SYMBOL);
    expect(categoryOf(0x301)).toBe(Category.MARK);
    expect(categoryOf(0x20)).toBe(Category.SEPARATOR);
  });

  it('counts control, format, private-use, surrogate and unassigned code points as OTHER', () => {
    for (const cp of [0x00, 0x1f, 0x85, 0x200d, 0xfeff, 0xe000, 0xd800, 0x378, 0x10ffff]) expect(categoryOf(cp)).toBe(Category.OTHER);
  });

  it('uses the White_Space property: no U+FEFF or U+200B, but NEL and the Unicode spaces', () => {
    for (const cp of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]) {
      expect(isWhitespace(cp), cp.toString(16)).toBe(true);
    }
    for (const cp of [0x1c, 0x1f, 0x200b, 0xfeff, 0x180e, 0x41]) expect(isWhitespace(cp), cp.toString(16)).toBe(false);
  });
});

describe('text helpers', () => {
  it('replaces lone surrogates by U+FFFD and keeps pairs', () => {
    expect(toWellFormed('a\uD800b\uDC00c😀')).toBe('a\uFFFDb\uFFFDc😀');
  });

  it('lists code points with their UTF-16 offsets', () => {
    const { cpts, utf16Offsets } = codepointsOf('a😀b');
    expect([...cpts]).toEqual([0x61, 0x1f600, 0x62]);
    expect([...utf16Offsets]).toEqual([0, 1, 3, 4]);
  });

  it('spells byte tokens in upper-case hex', () => {
    expect(byteTokenText(0x0a)).toBe('<0x0A>');
    expect(byteTokenText(0xff)).toBe('<0xFF>');
  });
});

describe('GPT-2 byte alphabet', () => {
  it('is a bijection between the 256 bytes and 256 printable code points below U+0144', () => {
    const bytes = new Set<number>();
    for (let cp = 0; cp < 0x200; cp++) {
      const b = byteOfAlphabetChar(cp);
      if (b === undefined) continue;
      bytes.add(b);
      expect(/\p{White_Space}|\p{Cc}/u.test(String.fromCodePoint(cp)), cp.toString(16)).toBe(false);
      expect(cp).toBeLessThan(0x144);
    }
    expect(bytes.size).toBe(256);
    for (let b = 0x21; b <= 0x7e; b++) expect(byteOfAlphabetChar(b)).toBe(b);
  });

  it('keeps printable ASCII, and shows space, newline and tab as Ġ, Ċ, ĉ', () => {
    expect(byteLevelEncode('Az~!')).toBe('Az~!');
    expect(byteLevelEncode(' \n\t')).toBe('ĠĊĉ');
  });

  it('encodes multi-byte characters byte by byte (é = C3 A9 -> Ã ©)', () => {
    expect(byteLevelEncode('é')).toBe('Ã©');
    expect(byteOfAlphabetChar(0xc3)).toBe(0xc3);
    expect(byteOfAlphabetChar(0x100)).toBe(0x00); // first non-printable byte
    expect(byteOfAlphabetChar(0x4e2d)).toBeUndefined();
  });
});
