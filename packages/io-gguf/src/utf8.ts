/**
 * Strict UTF-8 decoding for GGUF strings. Tokenizer arrays hold hundreds of thousands of short strings;
 * a per-string TextDecoder call costs more than decoding them here, so short strings are decoded in JS
 * (with the same strictness as `TextDecoder('utf-8', { fatal: true })`: no overlong forms, no surrogates,
 * nothing above U+10FFFF, no truncated sequences) and long ones go to TextDecoder; under Node the native
 * decoder does the common case (see `strictUtf8Decoder`). A leading BOM is kept.
 */

/** Strings up to this many bytes are decoded in JS. */
export const SHORT_UTF8_BYTES = 64;

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const codeUnits = new Uint16Array(SHORT_UTF8_BYTES);

/** Decodes bytes[start, end) (at most SHORT_UTF8_BYTES); undefined when they are not valid UTF-8. */
export function decodeShortUtf8(bytes: Uint8Array, start: number, end: number): string | undefined {
  let n = 0;
  let i = start;
  while (i < end) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      codeUnits[n++] = b0;
      i++;
      continue;
    }
    let extra: number;
    let cp: number;
    let min: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      extra = 1;
      cp = b0 & 0x1f;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      extra = 2;
      cp = b0 & 0x0f;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      extra = 3;
      cp = b0 & 0x07;
      min = 0x10000;
    } else {
      return undefined;
    }
    if (i + extra >= end) return undefined; // truncated sequence
    for (let k = 1; k <= extra; k++) {
      const b = bytes[i + k]!;
      if ((b & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
    if (cp >= 0x10000) {
      const v = cp - 0x10000;
      codeUnits[n++] = 0xd800 | (v >> 10);
      codeUnits[n++] = 0xdc00 | (v & 0x3ff);
    } else {
      codeUnits[n++] = cp;
    }
    i += extra + 1;
  }
  return String.fromCharCode.apply(null, codeUnits.subarray(0, n) as unknown as number[]);
}

/** Node's Buffer; `utf8Slice` is the native method behind `toString('utf8', start, end)` without its argument handling. */
type NodeBufferView = Uint8Array & { utf8Slice?(start: number, end: number): string; toString(encoding: 'utf8', start: number, end: number): string };
const NodeBuffer = (globalThis as { Buffer?: { from(buffer: ArrayBufferLike, byteOffset: number, length: number): NodeBufferView } }).Buffer;

/**
 * A strict UTF-8 decoder over `bytes`, returning undefined for invalid input. Under Node it uses the
 * native (replacing) decoder and accepts the result only if it has no U+FFFD: every invalid sequence
 * becomes U+FFFD there, so a result without one is exactly the strict decoding; results with one are
 * re-checked strictly (the text may really contain U+FFFD). Elsewhere it decodes in JS.
 */
export function strictUtf8Decoder(bytes: Uint8Array): (start: number, end: number) => string | undefined {
  const strict = (start: number, end: number): string | undefined => {
    if (end - start <= SHORT_UTF8_BYTES) return decodeShortUtf8(bytes, start, end);
    try {
      return fatalDecoder.decode(bytes.subarray(start, end));
    } catch {
      return undefined;
    }
  };
  if (NodeBuffer === undefined) return strict;
  const view = NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8Slice = typeof view.utf8Slice === 'function' ? view.utf8Slice : undefined;
  return (start, end) => {
    const text = utf8Slice !== undefined ? utf8Slice.call(view, start, end) : view.toString('utf8', start, end);
    return text.includes('\uFFFD') ? strict(start, end) : text;
  };
}
