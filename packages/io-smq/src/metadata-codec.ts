/**
 * (De)serialization of typed key/value entries (SPEC.md §3), used for both the metadata and the provenance
 * section. Encoding validates every value against its declared type so that what is written is exactly
 * what will be read back; decoding checks every length and count against the bytes left before using it.
 */
import { ByteCursor, ByteWriter, decodeUtf8, encodeUtf8Strict } from './binary.js';
import { SMQ_MAX_ARRAY_DEPTH, SMQ_MAX_KEY_BYTES } from './constants.js';
import { SmqFormatError, SmqFormatErrorCode, SmqWriteError, type SmqWriteErrorCode } from './errors.js';
import { MetadataValueType, metadataTypeName, type MetadataArray, type MetadataScalar, type MetadataValue, type MetadataValueTypeId } from './metadata.js';

/** Which header section entries belong to; used in field names (`metadata["key"]`) and error codes. */
export type EntrySection = 'metadata' | 'provenance';

export interface DecodedEntry {
  readonly key: string;
  readonly value: MetadataValue;
  /** File offset of the entry's key length. */
  readonly offset: number;
}

const INTEGER_RANGES: Readonly<Record<number, readonly [number, number]>> = {
  [MetadataValueType.UINT8]: [0, 0xff],
  [MetadataValueType.INT8]: [-0x80, 0x7f],
  [MetadataValueType.UINT16]: [0, 0xffff],
  [MetadataValueType.INT16]: [-0x8000, 0x7fff],
  [MetadataValueType.UINT32]: [0, 0xffffffff],
  [MetadataValueType.INT32]: [-0x80000000, 0x7fffffff],
};
const BIGINT_RANGES: Readonly<Record<number, readonly [bigint, bigint]>> = {
  [MetadataValueType.UINT64]: [0n, (1n << 64n) - 1n],
  [MetadataValueType.INT64]: [-(1n << 63n), (1n << 63n) - 1n],
};

/** Smallest encoded payload of each type: bounds counts before anything is allocated. */
const MIN_PAYLOAD_BYTES: Readonly<Record<number, number>> = {
  [MetadataValueType.UINT8]: 1,
  [MetadataValueType.INT8]: 1,
  [MetadataValueType.UINT16]: 2,
  [MetadataValueType.INT16]: 2,
  [MetadataValueType.UINT32]: 4,
  [MetadataValueType.INT32]: 4,
  [MetadataValueType.FLOAT32]: 4,
  [MetadataValueType.BOOL]: 1,
  [MetadataValueType.STRING]: 4,
  [MetadataValueType.ARRAY]: 8,
  [MetadataValueType.UINT64]: 8,
  [MetadataValueType.INT64]: 8,
  [MetadataValueType.FLOAT64]: 8,
};
/** key length + one key byte + type id + one payload byte. */
export const MIN_ENTRY_BYTES = 4 + 1 + 4 + 1;

function isValueType(type: unknown): type is MetadataValueTypeId {
  return typeof type === 'number' && Object.hasOwn(MIN_PAYLOAD_BYTES, type);
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

/**
 * Appends `value` as the fixed-width little-endian payload of `type` (every value type but STRING and
 * ARRAY, whose length fields differ between SMQ and GGUF), after checking that it is one: an integer in
 * range (a bigint for the 64-bit types), a number for the floats, a boolean for BOOL. Returns what is
 * wrong, with nothing written, or undefined once written. Shared with the GGUF encoder.
 */
export function encodeFixedWidthValue(w: ByteWriter, type: number, value: unknown): string | undefined {
  const intRange = INTEGER_RANGES[type];
  if (intRange !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < intRange[0] || value > intRange[1])) {
    return `${String(value)} is not a ${metadataTypeName(type)} (integer in [${intRange[0]}, ${intRange[1]}])`;
  }
  const bigRange = BIGINT_RANGES[type];
  if (bigRange !== undefined && (typeof value !== 'bigint' || value < bigRange[0] || value > bigRange[1])) {
    return `${String(value)} is not a ${metadataTypeName(type)} (bigint in [${bigRange[0]}, ${bigRange[1]}])`;
  }
  switch (type) {
    case MetadataValueType.UINT8:
      return void w.u8(value as number);
    case MetadataValueType.INT8:
      return void w.i8(value as number);
    case MetadataValueType.UINT16:
      return void w.u16(value as number);
    case MetadataValueType.INT16:
      return void w.i16(value as number);
    case MetadataValueType.UINT32:
      return void w.u32(value as number);
    case MetadataValueType.INT32:
      return void w.i32(value as number);
    case MetadataValueType.UINT64:
      return void w.u64(value as bigint);
    case MetadataValueType.INT64:
      return void w.i64(value as bigint);
    case MetadataValueType.FLOAT32:
    case MetadataValueType.FLOAT64:
      if (typeof value !== 'number') return `expected a number for ${metadataTypeName(type)}, got ${typeof value}`;
      return void (type === MetadataValueType.FLOAT32 ? w.f32(value) : w.f64(value));
    case MetadataValueType.BOOL:
      if (typeof value !== 'boolean') return `expected a boolean, got ${typeof value}`;
      return void w.u8(value ? 1 : 0);
    default:
      return `${metadataTypeName(type)} is not a fixed-width value type`;
  }
}

class EntryEncoder {
  constructor(
    private readonly w: ByteWriter,
    private readonly errorCode: SmqWriteErrorCode,
  ) {}

  private fail(path: string, detail: string): never {
    throw new SmqWriteError(this.errorCode, detail, path);
  }

  string(s: unknown, path: string): void {
    if (typeof s !== 'string') this.fail(path, `expected a string, got ${typeof s}`);
    const bytes = encodeUtf8Strict(s);
    if (bytes === undefined) this.fail(path, 'string holds an unpaired UTF-16 surrogate, which UTF-8 cannot represent');
    if (bytes.length > 0xffffffff) this.fail(path, `string of ${bytes.length} bytes exceeds the u32 length field`);
    this.w.u32(bytes.length);
    this.w.bytes(bytes);
  }

  payload(type: MetadataValueTypeId, v: unknown, path: string, depth: number): void {
    if (type === MetadataValueType.STRING) return this.string(v, path);
    if (type === MetadataValueType.ARRAY) return this.array(v, path, depth + 1);
    const problem = encodeFixedWidthValue(this.w, type, v);
    if (problem !== undefined) this.fail(path, problem);
  }

  array(v: unknown, path: string, depth: number): void {
    if (depth > SMQ_MAX_ARRAY_DEPTH) this.fail(path, `arrays nest deeper than ${SMQ_MAX_ARRAY_DEPTH} levels`);
    if (typeof v !== 'object' || v === null) this.fail(path, 'expected an array value { elementType, values }');
    const { elementType, values } = v as Partial<MetadataArray>;
    if (!isValueType(elementType)) this.fail(path, `unknown array element type ${String(elementType)}`);
    if (!Array.isArray(values)) this.fail(path, 'array value has no values[]');
    if (values.length > 0xffffffff) this.fail(path, `${values.length} elements exceed the u32 count field`);
    this.w.u32(elementType);
    this.w.u32(values.length);
    for (let i = 0; i < values.length; i++) this.payload(elementType, values[i], `${path}[${i}]`, depth);
  }

  entry(key: string, value: MetadataValue, section: EntrySection): void {
    const path = `${section}[${JSON.stringify(key)}]`;
    const keyBytes = encodeUtf8Strict(key);
    if (keyBytes === undefined || keyBytes.length === 0 || keyBytes.length > SMQ_MAX_KEY_BYTES) {
      this.fail(path, `a key must be 1..${SMQ_MAX_KEY_BYTES} bytes of valid UTF-8`);
    }
    if (typeof value !== 'object' || value === null || !isValueType(value.type)) {
      this.fail(path, `unknown value type ${String((value as { type?: unknown } | null)?.type)}`);
    }
    this.w.u32(keyBytes.length);
    this.w.bytes(keyBytes);
    this.w.u32(value.type);
    this.payload(value.type, value.value, path, 0);
  }
}

/** Appends `entries` to `w`; invalid keys or values throw `SmqWriteError` naming the key and element. */
export function encodeEntries(w: ByteWriter, entries: Iterable<readonly [string, MetadataValue]>, section: EntrySection): number {
  const encoder = new EntryEncoder(w, section === 'metadata' ? 'INVALID_METADATA' : 'INVALID_PROVENANCE');
  let count = 0;
  for (const [key, value] of entries) {
    encoder.entry(key, value, section);
    count++;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

function formatError(code: SmqFormatErrorCode, detail: string, offset: number, field: string): SmqFormatError {
  return new SmqFormatError(code, detail, { offset, field });
}

/** Checks that `count` items of at least `minBytes` each can fit in what is left, before allocating. */
export function checkCount(c: ByteCursor, count: number, minBytes: number, offset: number, field: string): void {
  if (count * minBytes > c.remaining) {
    throw formatError(SmqFormatErrorCode.COUNT_TOO_LARGE, `${count} items need at least ${count * minBytes} bytes, only ${c.remaining} are left in the header`, offset, field);
  }
}

/** A u32-length-prefixed UTF-8 string of at most `maxBytes` (when given). */
export function readString(c: ByteCursor, field: string, limit?: { maxBytes: number; code: SmqFormatErrorCode; what: string }): string {
  const at = c.pos;
  const n = c.u32(field);
  if (limit !== undefined && (n === 0 || n > limit.maxBytes)) {
    throw formatError(limit.code, `${limit.what} is ${n} bytes, must be 1..${limit.maxBytes}`, at, field);
  }
  if (n > c.remaining) {
    throw formatError(SmqFormatErrorCode.STRING_TOO_LONG, `string of ${n} bytes but only ${c.remaining} bytes are left in the header`, at, field);
  }
  return decodeUtf8(c.bytesView(n, field), at + 4, field);
}

function readValueType(c: ByteCursor, field: string): MetadataValueTypeId {
  const at = c.pos;
  const type = c.u32(field);
  if (!isValueType(type)) throw formatError(SmqFormatErrorCode.UNKNOWN_VALUE_TYPE, `unknown value type id ${type}`, at, field);
  return type;
}

function readPayload(c: ByteCursor, type: MetadataValueTypeId, field: string, depth: number): MetadataScalar | MetadataArray {
  switch (type) {
    case MetadataValueType.UINT8:
      return c.u8(field);
    case MetadataValueType.INT8:
      return c.i8(field);
    case MetadataValueType.UINT16:
      return c.u16(field);
    case MetadataValueType.INT16:
      return c.i16(field);
    case MetadataValueType.UINT32:
      return c.u32(field);
    case MetadataValueType.INT32:
      return c.i32(field);
    case MetadataValueType.FLOAT32:
      return c.f32(field);
    case MetadataValueType.FLOAT64:
      return c.f64(field);
    case MetadataValueType.UINT64:
      return c.u64(field);
    case MetadataValueType.INT64:
      return c.i64(field);
    case MetadataValueType.BOOL: {
      const at = c.pos;
      const b = c.u8(field);
      if (b > 1) throw formatError(SmqFormatErrorCode.BAD_BOOL, `BOOL byte is ${b}, must be 0 or 1`, at, field);
      return b === 1;
    }
    case MetadataValueType.STRING:
      return readString(c, field);
    case MetadataValueType.ARRAY:
      return readArray(c, field, depth + 1);
  }
}

function readArray(c: ByteCursor, field: string, depth: number): MetadataArray {
  const at = c.pos;
  if (depth > SMQ_MAX_ARRAY_DEPTH) {
    throw formatError(SmqFormatErrorCode.NESTING_TOO_DEEP, `arrays nest deeper than ${SMQ_MAX_ARRAY_DEPTH} levels`, at, field);
  }
  const elementType = readValueType(c, `${field}.elementType`);
  const countAt = c.pos;
  const count = c.u32(`${field}.count`);
  checkCount(c, count, MIN_PAYLOAD_BYTES[elementType] ?? 1, countAt, `${field}.count`);
  const values: Array<MetadataScalar | MetadataArray> = [];
  for (let i = 0; i < count; i++) values.push(readPayload(c, elementType, field, depth));
  return { elementType, values };
}

/** Reads `count` entries; keys must be unique. Field names say the section and key. */
export function decodeEntries(c: ByteCursor, count: number, section: EntrySection, countOffset: number): DecodedEntry[] {
  checkCount(c, count, MIN_ENTRY_BYTES, countOffset, `prefix.${section}Count`);
  const entries: DecodedEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const offset = c.pos;
    const key = readString(c, `${section}[${i}].key`, { maxBytes: SMQ_MAX_KEY_BYTES, code: SmqFormatErrorCode.BAD_KEY, what: 'key' });
    const field = `${section}[${JSON.stringify(key)}]`;
    if (seen.has(key)) throw formatError(SmqFormatErrorCode.DUPLICATE_KEY, `key ${JSON.stringify(key)} appears twice`, offset, field);
    seen.add(key);
    const type = readValueType(c, `${field}.type`);
    const value = { type, value: readPayload(c, type, field, 0) } as MetadataValue;
    entries.push({ key, value, offset });
  }
  return entries;
}
