import { describe, expect, it } from 'vitest';
import { Rng } from './fuzz/mutator.js';
import { decodeShortUtf8, strictUtf8Decoder } from './utf8.js';

const reference = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function strict(bytes: Uint8Array): string | undefined {
  try {
    return reference.decode(bytes);
  } catch {
    return undefined;
  }
}

// Bytes around every UTF-8 boundary: ASCII, continuation bytes, overlong leads, surrogate and max ranges.
const EDGES = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbd, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];

describe('strict UTF-8 decoding', () => {
  it('agrees with TextDecoder({ fatal: true }) on 100k random short byte strings, both paths', () => {
    const rng = new Rng(7);
    let valid = 0;
    for (let t = 0; t < 100_000; t++) {
      const n = 1 + rng.int(10);
      const bytes = Uint8Array.from({ length: n }, () => (rng.next() < 0.75 ? rng.pick(EDGES) : rng.int(256)));
      const want = strict(bytes);
      if (want !== undefined) valid++;
      expect(decodeShortUtf8(bytes, 0, n)).toBe(want);
      expect(strictUtf8Decoder(bytes)(0, n)).toBe(want);
    }
    expect(valid).toBeGreaterThan(1000); // the generator must produce both outcomes
  });

  it('keeps a BOM and a real U+FFFD, rejects encoded surrogates and overlongs, handles long strings', () => {
    const enc = new TextEncoder();
    for (const text of ['\uFEFFbom', 'a\uFFFDb', '🍎'.repeat(40), 'x'.repeat(1000)]) {
      const bytes = enc.encode(text);
      expect(strictUtf8Decoder(bytes)(0, bytes.length)).toBe(text);
    }
    for (const bad of [[0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      const long = Uint8Array.from([...new Uint8Array(100).fill(0x61), ...bad]);
      expect(strictUtf8Decoder(Uint8Array.from(bad))(0, bad.length)).toBeUndefined();
      expect(strictUtf8Decoder(long)(0, long.length)).toBeUndefined();
    }
  });
});
