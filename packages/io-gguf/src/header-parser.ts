/**
 * Synchronous GGUF header parser over a byte prefix of the file. It validates everything llama.cpp's
 * gguf.cpp validates (and a little more) and never allocates by a count it has not first checked
 * against the bytes the file has left.
 *
 * It can run on a prefix: when the prefix ends before the header does (but the file does not), it throws
 * `NeedMoreBytes` with the prefix length it needs, and the caller retries with a longer prefix. That keeps
 * the parser synchronous (fast for 100k-entry tokenizer arrays) while the reader stays incremental.
 */
import { ModelMetadata, MetadataValueType } from '@smallmind/io-smq';
import type { MetadataArray, MetadataScalar, MetadataValue, MetadataValueTypeId } from '@smallmind/io-smq';
import { SmallMindError, UnknownGgmlTypeError, ggmlTypeInfo } from '@smallmind/quantization-tensors';
import type { GgmlTypeId } from '@smallmind/quantization-tensors';
import { GgufFormatError, GgufFormatErrorCode as Code } from './errors.js';
import { strictUtf8Decoder } from './utf8.js';
import {
  GGUF_ALIGNMENT_KEY,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_DEFAULT_MAX_HEADER_BYTES,
  GGUF_MAGIC,
  GGUF_MAX_ARRAY_NESTING,
  GGUF_MAX_DIMS,
  GGUF_MAX_KEY_BYTES,
  GGUF_MAX_TENSOR_NAME_BYTES,
  alignUp,
  isPowerOfTwo,
} from './format.js';

export type GgufVersion = 1 | 2 | 3;

/** One tensor of a GGUF file, as described by its tensor info. */
export interface GgufTensorInfo {
  readonly name: string;
  /** ggml type id (see `GgmlType` in @smallmind/quantization-tensors). */
  readonly type: GgmlTypeId;
  /** Dimensions in ggml `ne` order: shape[0] is the contiguous row length. */
  readonly shape: readonly number[];
  /** Absolute byte offset of the tensor's data in the file. */
  readonly offset: number;
  readonly byteLength: number;
}

/** Everything in a GGUF file except the tensor data. */
export interface GgufHeader {
  readonly version: GgufVersion;
  /** All key/value pairs in file order. */
  readonly metadata: ModelMetadata;
  /** `general.alignment`, or 32. */
  readonly alignment: number;
  /** Absolute offset of the data section (end of the tensor infos rounded up to `alignment`). */
  readonly dataOffset: number;
  /** Byte length of magic .. end of the tensor infos (before the alignment padding). */
  readonly headerByteLength: number;
  /** Tensor infos in file order. */
  readonly tensors: readonly GgufTensorInfo[];
}

export interface ParseGgufHeaderOptions {
  /** Size of the whole file when `bytes` is only a prefix of it. Default: `bytes.length`. */
  readonly fileSize?: number;
  /** Refuse headers longer than this (code HEADER_TOO_LARGE). Default 256 MiB. */
  readonly maxHeaderBytes?: number;
}

/** Internal signal: the prefix given to the parser ends before the header does. */
export class NeedMoreBytes extends SmallMindError<'NEED_MORE_BYTES'> {
  override readonly name = 'NeedMoreBytes';
  constructor(readonly bytesNeeded: number) {
    super('NEED_MORE_BYTES', `GGUF header parser needs at least ${bytesNeeded} bytes of the file`);
  }
}

/** Local copy of the value type ids: hot loops should not go through a module namespace binding. */
const VT = { ...MetadataValueType };

const VALUE_TYPE_BYTES: ReadonlyMap<number, number> = new Map([
  [VT.UINT8, 1],
  [VT.INT8, 1],
  [VT.UINT16, 2],
  [VT.INT16, 2],
  [VT.UINT32, 4],
  [VT.INT32, 4],
  [VT.FLOAT32, 4],
  [VT.BOOL, 1],
  [VT.UINT64, 8],
  [VT.INT64, 8],
  [VT.FLOAT64, 8],
]);

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const I64_SIGN = 1n << 63n;

const quote = (s: string): string => JSON.stringify(s);

class Cursor {
  pos = 0;
  private readonly view: DataView;
  private readonly decodeUtf8: (start: number, end: number) => string | undefined;

  constructor(
    private readonly bytes: Uint8Array,
    readonly fileSize: number,
    private readonly maxHeaderBytes: number,
    /** v1 stores counts and lengths as u32, later versions as u64. */
    private sizeBytes: 4 | 8,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.decodeUtf8 = strictUtf8Decoder(bytes);
  }

  setVersion(version: GgufVersion): void {
    this.sizeBytes = version === 1 ? 4 : 8;
  }
  get sizeFieldBytes(): number {
    return this.sizeBytes;
  }
  get remaining(): number {
    return this.fileSize - this.pos;
  }

  fail(code: Code, field: string, offset: number, detail: string, cause?: unknown): never {
    throw new GgufFormatError(code, field, offset, detail, cause === undefined ? undefined : { cause });
  }

  /** Makes sure `n` more bytes are available: in the file (else TRUNCATED) and in the prefix. */
  need(n: number, field: string): void {
    const end = this.pos + n;
    if (end > this.fileSize) {
      this.fail(Code.TRUNCATED, field, this.pos, `file ends at byte ${this.fileSize}, ${n} more bytes needed to read ${field}`);
    }
    if (end > this.maxHeaderBytes) {
      this.fail(Code.HEADER_TOO_LARGE, field, this.pos, `header would extend past the ${this.maxHeaderBytes}-byte header limit`);
    }
    if (end > this.bytes.length) throw new NeedMoreBytes(end);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.pos++]!;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A count or length field (u32 in v1, u64 later), as a number no larger than the bytes left allow. */
  size(field: string, unitBytes: number, code: Code): number {
    const at = this.pos;
    let value: number;
    let high = 0;
    if (this.sizeBytes === 4) {
      value = this.u32(field);
    } else {
      this.need(8, field);
      const low = this.view.getUint32(at, true);
      high = this.view.getUint32(at + 4, true);
      this.pos += 8;
      value = high * 0x1_0000_0000 + low; // exact while high < 2^21
    }
    const limit = Math.floor(this.remaining / unitBytes);
    if (high >= 0x20_0000 || value > limit) {
      const exact = this.sizeBytes === 4 ? BigInt(value) : this.view.getBigUint64(at, true);
      this.fail(code, field, at, `${field} is ${exact}, but the ${this.remaining} bytes left in the file hold at most ${limit}`);
    }
    return value;
  }

  string(field: string, maxBytes: number, tooLongCode: Code = Code.NAME_TOO_LONG): string {
    const at = this.pos;
    const length = this.size(field, 1, Code.STRING_TOO_LONG);
    if (length > maxBytes) this.fail(tooLongCode, field, at, `${field} is ${length} bytes long, the limit is ${maxBytes}`);
    this.need(length, field);
    const start = this.pos;
    this.pos += length;
    return this.decodeUtf8(start, start + length) ?? this.fail(Code.INVALID_UTF8, field, start, `${field} is not valid UTF-8`);
  }

  scalar(type: number, field: string): MetadataScalar {
    const view = this.view;
    const at = this.pos;
    switch (type) {
      case VT.UINT8:
        return this.u8(field);
      case VT.INT8:
        this.need(1, field);
        this.pos += 1;
        return view.getInt8(at);
      case VT.UINT16:
        this.need(2, field);
        this.pos += 2;
        return view.getUint16(at, true);
      case VT.INT16:
        this.need(2, field);
        this.pos += 2;
        return view.getInt16(at, true);
      case VT.UINT32:
        return this.u32(field);
      case VT.INT32:
        this.need(4, field);
        this.pos += 4;
        return view.getInt32(at, true);
      case VT.FLOAT32:
        this.need(4, field);
        this.pos += 4;
        return view.getFloat32(at, true);
      case VT.BOOL: {
        const b = this.u8(field);
        if (b > 1) this.fail(Code.INVALID_BOOL, field, at, `${field} is a BOOL with byte value ${b} (must be 0 or 1)`);
        return b === 1;
      }
      case VT.STRING:
        return this.string(field, Number.MAX_SAFE_INTEGER);
      case VT.UINT64:
        return this.u64(field);
      case VT.INT64:
        this.need(8, field);
        this.pos += 8;
        return view.getBigInt64(at, true);
      case VT.FLOAT64:
        this.need(8, field);
        this.pos += 8;
        return view.getFloat64(at, true);
      default:
        return this.fail(Code.UNKNOWN_VALUE_TYPE, field, at, `${field} has unknown value type ${type}`);
    }
  }

  valueType(field: string): MetadataValueTypeId {
    const at = this.pos;
    const type = this.u32(field);
    if (type > VT.FLOAT64) this.fail(Code.UNKNOWN_VALUE_TYPE, field, at, `${field} is ${type}, not a GGUF value type (0..12)`);
    return type as MetadataValueTypeId;
  }

  /** Smallest encoding of one element of `type`: bounds the element count an array can claim. */
  minValueBytes(type: MetadataValueTypeId): number {
    if (type === VT.STRING) return this.sizeBytes;
    if (type === VT.ARRAY) return 4 + this.sizeBytes;
    return VALUE_TYPE_BYTES.get(type)!;
  }

  array(field: string, depth: number): MetadataArray {
    const elementType = this.valueType(`${field}.element_type`);
    const countAt = this.pos;
    const count = this.size(`${field}.count`, this.minValueBytes(elementType), Code.COUNT_TOO_LARGE);
    if (elementType === VT.ARRAY && depth + 1 > GGUF_MAX_ARRAY_NESTING) {
      this.fail(Code.NESTING_TOO_DEEP, field, countAt, `${field} nests arrays deeper than ${GGUF_MAX_ARRAY_NESTING} levels`);
    }
    const values: Array<MetadataScalar | MetadataArray> = new Array(count);
    if (elementType === VT.ARRAY) {
      for (let i = 0; i < count; i++) values[i] = this.array(`${field}[${i}]`, depth + 1);
    } else if (elementType === VT.STRING) {
      for (let i = 0; i < count; i++) values[i] = this.string(field, Number.MAX_SAFE_INTEGER);
    } else {
      const width = VALUE_TYPE_BYTES.get(elementType)!;
      this.need(count * width, field);
      this.readNumbers(elementType, count, values, field);
    }
    return { elementType, values };
  }

  /** Reads `count` fixed-width elements (already known to be in the prefix) into `out`: one tight loop per type. */
  private readNumbers(type: MetadataValueTypeId, count: number, out: Array<MetadataScalar | MetadataArray>, field: string): void {
    const view = this.view;
    const p = this.pos;
    switch (type) {
      case VT.UINT8:
        for (let i = 0; i < count; i++) out[i] = this.bytes[p + i]!;
        break;
      case VT.INT8:
        for (let i = 0; i < count; i++) out[i] = view.getInt8(p + i);
        break;
      case VT.UINT16:
        for (let i = 0; i < count; i++) out[i] = view.getUint16(p + 2 * i, true);
        break;
      case VT.INT16:
        for (let i = 0; i < count; i++) out[i] = view.getInt16(p + 2 * i, true);
        break;
      case VT.UINT32:
        for (let i = 0; i < count; i++) out[i] = view.getUint32(p + 4 * i, true);
        break;
      case VT.INT32:
        for (let i = 0; i < count; i++) out[i] = view.getInt32(p + 4 * i, true);
        break;
      case VT.FLOAT32:
        for (let i = 0; i < count; i++) out[i] = view.getFloat32(p + 4 * i, true);
        break;
      case VT.UINT64:
        for (let i = 0; i < count; i++) out[i] = view.getBigUint64(p + 8 * i, true);
        break;
      case VT.INT64:
        for (let i = 0; i < count; i++) out[i] = view.getBigInt64(p + 8 * i, true);
        break;
      case VT.FLOAT64:
        for (let i = 0; i < count; i++) out[i] = view.getFloat64(p + 8 * i, true);
        break;
      default:
        // BOOL: each byte must be 0 or 1.
        for (let i = 0; i < count; i++) {
          const b = this.bytes[p + i]!;
          if (b > 1) this.fail(Code.INVALID_BOOL, field, p + i, `${field}[${i}] is a BOOL with byte value ${b} (must be 0 or 1)`);
          out[i] = b === 1;
        }
    }
    this.pos = p + count * VALUE_TYPE_BYTES.get(type)!;
  }

  value(type: MetadataValueTypeId, field: string): MetadataValue {
    if (type === VT.ARRAY) return { type, value: this.array(field, 1) };
    return { type, value: this.scalar(type, field) } as MetadataValue;
  }
}

function parseVersion(cursor: Cursor): GgufVersion {
  const at = cursor.pos;
  const version = cursor.u32('header.version');
  if (version === 0) cursor.fail(Code.INVALID_VERSION, 'header.version', at, 'GGUF version is 0');
  // A file written on a big-endian host has its version byte-swapped: 3 reads as 0x03000000.
  if ((version & 0xffff) === 0) {
    const swapped = ((version >>> 24) | ((version >>> 8) & 0xff00)) >>> 0;
    cursor.fail(Code.WRONG_ENDIANNESS, 'header.version', at, `GGUF version reads as 0x${version.toString(16)}: a big-endian file (version ${swapped}); only little-endian GGUF is supported`);
  }
  if (version > 3) cursor.fail(Code.UNSUPPORTED_VERSION, 'header.version', at, `GGUF version ${version} is not supported (1, 2 and 3 are)`);
  return version as GgufVersion;
}

function parseAlignment(cursor: Cursor, metadata: ReadonlyMap<string, MetadataValue>, keyOffsets: ReadonlyMap<string, number>): number {
  const entry = metadata.get(GGUF_ALIGNMENT_KEY);
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const field = `metadata[${quote(GGUF_ALIGNMENT_KEY)}]`;
  const at = keyOffsets.get(GGUF_ALIGNMENT_KEY)!;
  if (entry.type !== VT.UINT32) cursor.fail(Code.INVALID_ALIGNMENT, field, at, `${GGUF_ALIGNMENT_KEY} must be a UINT32, found value type ${entry.type}`);
  if (!isPowerOfTwo(entry.value)) cursor.fail(Code.INVALID_ALIGNMENT, field, at, `${GGUF_ALIGNMENT_KEY} is ${entry.value}, not a power of two`);
  return entry.value;
}

interface RawTensorInfo {
  readonly name: string;
  readonly type: GgmlTypeId;
  readonly shape: number[];
  readonly relativeOffset: number;
  readonly byteLength: number;
  /** Where the info's offset field is, for error reports. */
  readonly offsetFieldAt: number;
}

function parseTensorInfo(cursor: Cursor, index: number, alignment: number, seen: Set<string>): RawTensorInfo {
  const nameAt = cursor.pos;
  const name = cursor.string(`tensors[${index}].name`, GGUF_MAX_TENSOR_NAME_BYTES);
  const field = `tensors[${quote(name)}]`;
  if (seen.has(name)) cursor.fail(Code.DUPLICATE_TENSOR_NAME, `${field}.name`, nameAt, `tensor name ${quote(name)} appears twice`);
  seen.add(name);

  const dimsAt = cursor.pos;
  const nDims = cursor.u32(`${field}.n_dims`);
  if (nDims > GGUF_MAX_DIMS) cursor.fail(Code.TOO_MANY_DIMS, `${field}.n_dims`, dimsAt, `tensor ${quote(name)} has ${nDims} dimensions (at most ${GGUF_MAX_DIMS})`);
  const shape: number[] = [];
  let elements = 1n;
  for (let d = 0; d < nDims; d++) {
    const dimField = `${field}.shape[${d}]`;
    const at = cursor.pos;
    const dim = cursor.sizeFieldBytes === 4 ? BigInt(cursor.u32(dimField)) : cursor.u64(dimField);
    if (dim === 0n || dim >= I64_SIGN) {
      cursor.fail(Code.INVALID_DIMENSION, dimField, at, `tensor ${quote(name)} dimension ${d} is ${dim >= I64_SIGN ? dim - (1n << 64n) : dim} (must be positive)`);
    }
    elements *= dim;
    if (elements > MAX_SAFE) cursor.fail(Code.SIZE_OVERFLOW, dimField, at, `tensor ${quote(name)} has more than 2^53 elements`);
    shape.push(Number(dim));
  }

  const typeAt = cursor.pos;
  const type = cursor.u32(`${field}.type`);
  let info;
  try {
    info = ggmlTypeInfo(type);
  } catch (error) {
    if (!(error instanceof UnknownGgmlTypeError)) throw error;
    return cursor.fail(Code.UNKNOWN_TENSOR_TYPE, `${field}.type`, typeAt, `tensor ${quote(name)} has unknown ggml type id ${type}`, error);
  }
  const rowLength = shape[0] ?? 1;
  if (rowLength % info.blockSize !== 0) {
    cursor.fail(Code.ROW_NOT_BLOCK_ALIGNED, `${field}.shape[0]`, dimsAt + 4, `tensor ${quote(name)} rows have ${rowLength} elements, not a multiple of ${info.name}'s block size ${info.blockSize}`);
  }
  const byteLength = (elements / BigInt(info.blockSize)) * BigInt(info.typeSize);
  if (byteLength > MAX_SAFE) cursor.fail(Code.SIZE_OVERFLOW, `${field}.shape`, dimsAt, `tensor ${quote(name)} is larger than 2^53 bytes`);

  const offsetFieldAt = cursor.pos;
  const relative = cursor.u64(`${field}.offset`);
  if (relative > MAX_SAFE) cursor.fail(Code.TENSOR_OUT_OF_BOUNDS, `${field}.offset`, offsetFieldAt, `tensor ${quote(name)} data offset ${relative} is beyond 2^53`);
  const relativeOffset = Number(relative);
  if (relativeOffset % alignment !== 0) {
    cursor.fail(Code.OFFSET_NOT_ALIGNED, `${field}.offset`, offsetFieldAt, `tensor ${quote(name)} data offset ${relativeOffset} is not a multiple of the alignment ${alignment}`);
  }
  return { name, type, shape, relativeOffset, byteLength: Number(byteLength), offsetFieldAt };
}

/** Checks that every tensor's bytes lie inside the file and no two tensors share bytes. */
function placeTensors(cursor: Cursor, raw: readonly RawTensorInfo[], dataOffset: number): GgufTensorInfo[] {
  const tensors = raw.map((t): GgufTensorInfo => {
    const offset = dataOffset + t.relativeOffset;
    if (offset + t.byteLength > cursor.fileSize) {
      cursor.fail(Code.TENSOR_OUT_OF_BOUNDS, `tensors[${quote(t.name)}].offset`, t.offsetFieldAt, `tensor ${quote(t.name)} occupies bytes ${offset}..${offset + t.byteLength} but the file has ${cursor.fileSize}`);
    }
    return { name: t.name, type: t.type, shape: t.shape, offset, byteLength: t.byteLength };
  });
  const order = raw.map((_, i) => i).sort((a, b) => raw[a]!.relativeOffset - raw[b]!.relativeOffset);
  for (let k = 1; k < order.length; k++) {
    const prev = raw[order[k - 1]!]!;
    const next = raw[order[k]!]!;
    if (next.relativeOffset < prev.relativeOffset + prev.byteLength) {
      cursor.fail(Code.TENSOR_OVERLAP, `tensors[${quote(next.name)}].offset`, next.offsetFieldAt, `tensor ${quote(next.name)} data overlaps tensor ${quote(prev.name)}`);
    }
  }
  return tensors;
}

/**
 * Parses a GGUF header from `bytes` (the whole file, or a prefix of it with `options.fileSize`).
 * Throws `GgufFormatError` for invalid files, `NeedMoreBytes` when a prefix is too short.
 */
export function parseGgufHeader(bytes: Uint8Array, options: ParseGgufHeaderOptions = {}): GgufHeader {
  const fileSize = options.fileSize ?? bytes.length;
  if (fileSize < bytes.length) throw new RangeError(`fileSize ${fileSize} is smaller than the ${bytes.length} bytes given`);
  const cursor = new Cursor(bytes, fileSize, options.maxHeaderBytes ?? GGUF_DEFAULT_MAX_HEADER_BYTES, 8);

  const magic = cursor.u32('header.magic');
  if (magic !== GGUF_MAGIC) cursor.fail(Code.BAD_MAGIC, 'header.magic', 0, `file does not start with "GGUF" (found 0x${magic.toString(16).padStart(8, '0')})`);
  const version = parseVersion(cursor);
  cursor.setVersion(version);
  const minTensorInfoBytes = 2 * cursor.sizeFieldBytes + 4 + 8; // name length, n_dims, type, offset
  const minKvBytes = cursor.sizeFieldBytes + 4 + 1; // key length, value type, smallest value
  const tensorCount = cursor.size('header.tensor_count', minTensorInfoBytes, Code.COUNT_TOO_LARGE);
  const kvCount = cursor.size('header.metadata_kv_count', minKvBytes, Code.COUNT_TOO_LARGE);
  // Both sections share the bytes left: a file cannot hold both counts at their minimum sizes.
  if (tensorCount * minTensorInfoBytes + kvCount * minKvBytes > cursor.remaining) {
    cursor.fail(Code.COUNT_TOO_LARGE, 'header.tensor_count', 8, `${tensorCount} tensor infos and ${kvCount} metadata entries cannot fit in the ${cursor.remaining} bytes left`);
  }

  const entries = new Map<string, MetadataValue>();
  const keyOffsets = new Map<string, number>();
  for (let i = 0; i < kvCount; i++) {
    const keyAt = cursor.pos;
    const key = cursor.string(`metadata[${i}].key`, GGUF_MAX_KEY_BYTES);
    const field = `metadata[${quote(key)}]`;
    if (entries.has(key)) cursor.fail(Code.DUPLICATE_KEY, field, keyAt, `metadata key ${quote(key)} appears twice`);
    const type = cursor.valueType(`${field}.type`);
    entries.set(key, cursor.value(type, field));
    keyOffsets.set(key, keyAt);
  }
  const alignment = parseAlignment(cursor, entries, keyOffsets);

  const seen = new Set<string>();
  const raw: RawTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) raw.push(parseTensorInfo(cursor, i, alignment, seen));
  const headerByteLength = cursor.pos;
  const dataOffset = alignUp(headerByteLength, alignment);
  const tensors = placeTensors(cursor, raw, dataOffset);
  return { version, metadata: new ModelMetadata(entries), alignment, dataOffset, headerByteLength, tensors };
}
