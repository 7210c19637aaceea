/**
 * Little-endian byte encoding for the SMQ header: a growable writer, and a bounds-checked cursor whose
 * every failure is an `SmqFormatError` naming the field and its absolute file offset.
 */
import { SmqFormatError, SmqFormatErrorCode } from './errors.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Append-only little-endian buffer that doubles as it grows. Every method returns the writer, so fields
 * chain (`w.u32(magic).u32(version)`). Shared with the GGUF encoder through the package index.
 */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = 4096) {
    this.buf = new Uint8Array(Math.max(1, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  /**
   * Claims `n` bytes and returns their position. It may replace `buf` and `view`, so callers must call it
   * before reading either (`this.view.setX(this.reserve(4), ...)` would write into the old buffer).
   */
  private reserve(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < at + n) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buf.subarray(0, at));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    this.pos += n;
    return at;
  }

  u8(v: number): this {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
    return this;
  }
  i8(v: number): this {
    const at = this.reserve(1);
    this.view.setInt8(at, v);
    return this;
  }
  u16(v: number): this {
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
    return this;
  }
  i16(v: number): this {
    const at = this.reserve(2);
    this.view.setInt16(at, v, true);
    return this;
  }
  u32(v: number): this {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
    return this;
  }
  i32(v: number): this {
    const at = this.reserve(4);
    this.view.setInt32(at, v, true);
    return this;
  }
  f32(v: number): this {
    const at = this.reserve(4);
    this.view.setFloat32(at, v, true);
    return this;
  }
  f64(v: number): this {
    const at = this.reserve(8);
    this.view.setFloat64(at, v, true);
    return this;
  }
  /** A u64; a number must be a safe integer (BigInt() throws a RangeError for a fraction). */
  u64(v: number | bigint): this {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), true);
    return this;
  }
  i64(v: number | bigint): this {
    const at = this.reserve(8);
    this.view.setBigInt64(at, BigInt(v), true);
    return this;
  }
  bytes(b: Uint8Array): this {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
    return this;
  }
  zeros(n: number): this {
    const at = this.reserve(n);
    this.buf.fill(0, at, this.pos);
    return this;
  }
  /** Claims `n` bytes (zeros) and returns them for the caller to fill in place, e.g. with `TextEncoder.encodeInto`. */
  claim(n: number): Uint8Array {
    const at = this.reserve(n);
    return this.buf.subarray(at, at + n);
  }

  /** The bytes written so far (a copy sized exactly). */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/**
 * Reads fields in order from `bytes[start, end)`. Positions are absolute file offsets (the header is read
 * from file offset 0), so errors point at the byte in the file.
 */
export class ByteCursor {
  private readonly view: DataView;
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Claims `n` bytes for `field`; the header sections must fit inside the checksummed header. */
  take(n: number, field: string): number {
    if (n > this.remaining) {
      throw new SmqFormatError(SmqFormatErrorCode.HEADER_LENGTH_MISMATCH, `${field} needs ${n} bytes but the header sections end ${this.remaining} bytes later`, {
        offset: this.pos,
        field,
      });
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(field: string): number {
    return this.view.getUint8(this.take(1, field));
  }
  i8(field: string): number {
    return this.view.getInt8(this.take(1, field));
  }
  u16(field: string): number {
    return this.view.getUint16(this.take(2, field), true);
  }
  i16(field: string): number {
    return this.view.getInt16(this.take(2, field), true);
  }
  u32(field: string): number {
    return this.view.getUint32(this.take(4, field), true);
  }
  i32(field: string): number {
    return this.view.getInt32(this.take(4, field), true);
  }
  f32(field: string): number {
    return this.view.getFloat32(this.take(4, field), true);
  }
  f64(field: string): number {
    return this.view.getFloat64(this.take(8, field), true);
  }
  u64(field: string): bigint {
    return this.view.getBigUint64(this.take(8, field), true);
  }
  i64(field: string): bigint {
    return this.view.getBigInt64(this.take(8, field), true);
  }
  /** A u64 that must fit a JS number exactly (offsets, sizes, dims). */
  u64Number(field: string): number {
    const at = this.pos;
    const v = this.u64(field);
    return safeNumber(v, at, field);
  }
  /** `n` raw bytes (a view, not a copy). */
  bytesView(n: number, field: string): Uint8Array {
    const at = this.take(n, field);
    return this.bytes.subarray(at, at + n);
  }
}

export function safeNumber(v: bigint, offset: number, field: string): number {
  if (v > MAX_SAFE) {
    throw new SmqFormatError(SmqFormatErrorCode.NUMBER_TOO_LARGE, `${v} is beyond 2^53 - 1`, { offset, field });
  }
  return Number(v);
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Decodes UTF-8 that must be valid; the offset is that of the first byte. */
export function decodeUtf8(bytes: Uint8Array, offset: number, field: string): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new SmqFormatError(SmqFormatErrorCode.INVALID_UTF8, `${bytes.length} bytes are not valid UTF-8`, { offset, field });
  }
}

// With the `u` flag a surrogate class matches only unpaired surrogates: paired ones form one code point.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * UTF-8 bytes of `s`, or undefined when `s` holds an unpaired surrogate (TextEncoder would silently turn it
 * into U+FFFD, so the value would not round-trip).
 */
export function encodeUtf8Strict(s: string): Uint8Array | undefined {
  return LONE_SURROGATE.test(s) ? undefined : utf8Encoder.encode(s);
}
