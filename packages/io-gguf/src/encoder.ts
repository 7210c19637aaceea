/**
 * Encoding of GGUF headers: a byte writer for GGUF strings, metadata value encoding (with range
 * checks, so a value never silently wraps), and the header layout (magic .. tensor infos .. padding).
 */
import { ByteWriter as SmqByteWriter, MetadataValueType, encodeFixedWidthValue } from '@smallmind/io-smq';
import type { MetadataArray, MetadataScalar, MetadataValue, ModelMetadata } from '@smallmind/io-smq';
import { GgufWriteError, GgufWriteErrorCode } from './errors.js';
import { GGUF_MAGIC, GGUF_MAX_ARRAY_NESTING, GGUF_VERSION, alignUp } from './format.js';

const utf8 = new TextEncoder();

/**
 * io-smq's little-endian byte writer plus GGUF strings. Also used by tests to craft (invalid) files.
 */
export class ByteWriter extends SmqByteWriter {
  /**
   * GGUF string: u64 byte length + UTF-8 bytes. A string with a lone surrogate has no UTF-8 form: it is
   * refused (INVALID_METADATA naming `subject`) rather than written as U+FFFD.
   */
  string(s: string, subject: string = s): this {
    const n = utf8ByteLength(s);
    if (n < 0) throw new GgufWriteError(GgufWriteErrorCode.INVALID_METADATA, subject, 'string contains a lone UTF-16 surrogate');
    utf8.encodeInto(s, this.u64(n).claim(n));
    return this;
  }
  /** The bytes written so far (a copy sized exactly); the same as `toBytes()`. */
  finish(): Uint8Array {
    return this.toBytes();
  }
}

/** UTF-8 byte length of a JS string, or -1 if it holds a lone surrogate (not encodable). */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if ((c & 0xf800) !== 0xd800) n += 3;
    else if (c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else return -1;
  }
  return n;
}

function invalid(key: string, detail: string): never {
  throw new GgufWriteError(GgufWriteErrorCode.INVALID_METADATA, key, detail);
}

/** One value of a key (or array element) of `type`: strings are GGUF's own, the rest io-smq's fixed-width payloads. */
function encodeScalar(out: ByteWriter, type: number, value: MetadataScalar | MetadataArray, key: string): void {
  if (type === MetadataValueType.STRING) {
    if (typeof value !== 'string') invalid(key, `${String(value)} is not a STRING`);
    out.string(value, key);
    return;
  }
  const problem = encodeFixedWidthValue(out, type, value);
  if (problem !== undefined) invalid(key, problem);
}

function encodeArray(out: ByteWriter, array: MetadataArray, key: string, depth: number): void {
  if (typeof array !== 'object' || array === null || !Array.isArray(array.values)) invalid(key, 'an ARRAY value must be { elementType, values }');
  if (depth > GGUF_MAX_ARRAY_NESTING) invalid(key, `arrays nest deeper than ${GGUF_MAX_ARRAY_NESTING} levels`);
  out.u32(array.elementType).u64(array.values.length);
  if (array.elementType === MetadataValueType.ARRAY) {
    for (const v of array.values) encodeArray(out, v as MetadataArray, key, depth + 1);
  } else {
    for (const v of array.values) encodeScalar(out, array.elementType, v, key);
  }
}

/** Appends one metadata key/value pair. */
export function encodeMetadataEntry(out: ByteWriter, key: string, entry: MetadataValue): void {
  out.string(key, key).u32(entry.type);
  if (entry.type === MetadataValueType.ARRAY) encodeArray(out, entry.value, key, 1);
  else encodeScalar(out, entry.type, entry.value, key);
}

/** A tensor info as written: offset relative to the data section. */
export interface EncodedTensorInfo {
  readonly name: string;
  readonly type: number;
  readonly shape: readonly number[];
  readonly relativeOffset: number;
}

/**
 * The whole GGUF v3 header, padded with zeros to `alignment` so the data section starts right after it.
 * A file without tensors has no data section and gets no padding (what gguf-py writes for vocab-only
 * files; llama.cpp reads both).
 */
export function encodeGgufHeader(metadata: ModelMetadata, tensors: readonly EncodedTensorInfo[], alignment: number): Uint8Array {
  const out = new ByteWriter(64 * 1024);
  out.u32(GGUF_MAGIC).u32(GGUF_VERSION).u64(tensors.length).u64(metadata.size);
  for (const key of metadata.keys()) encodeMetadataEntry(out, key, metadata.get(key)!);
  for (const t of tensors) {
    out.string(t.name, t.name).u32(t.shape.length);
    for (const d of t.shape) out.u64(d);
    out.u32(t.type).u64(t.relativeOffset);
  }
  if (tensors.length > 0) out.zeros(alignUp(out.length, alignment) - out.length);
  return out.finish();
}
