/**
 * The SMQ header (SPEC.md §1-4): building it for the writer, and parsing plus validating it for the reader.
 * The parser trusts nothing: every count, length and offset is checked against the bytes that exist before
 * it is used, and every failure is an `SmqFormatError` with the file offset and field.
 */
import { ByteCursor, ByteWriter, encodeUtf8Strict } from './binary.js';
import { crc32 } from './checksum.js';
import {
  PrefixField,
  SMQ_ALIGNMENT,
  SMQ_CHECKSUM_BYTES,
  SMQ_MAGIC,
  SMQ_MAX_DIMS,
  SMQ_MAX_HEADER_BYTES,
  SMQ_MAX_TENSOR_NAME_BYTES,
  SMQ_MIN_HEADER_BYTES,
  SMQ_PREFIX_BYTES,
  SMQ_VERSION,
  align64,
} from './constants.js';
import { SmqFormatError, SmqFormatErrorCode, SmqWriteError } from './errors.js';
import { checkCount, decodeEntries, encodeEntries, readString } from './metadata-codec.js';
import { ModelMetadata, type MetadataValue } from './metadata.js';
import { provenanceFromEntries, type SmqProvenance } from './provenance.js';
import { checkTensor } from './tensor-rules.js';

/** One tensor as listed in an SMQ file's directory. */
export interface SmqTensorInfo {
  readonly name: string;
  /** ggml type id. */
  readonly type: number;
  /** Dimensions in ggml `ne` order (shape[0] is the contiguous row length). */
  readonly shape: readonly number[];
  /** Absolute file offset of the first data byte (a multiple of 64). */
  readonly offset: number;
  readonly byteLength: number;
  /** 0 = ggml blocks as in GGUF. */
  readonly layout: number;
  /** CRC-32 of the data bytes. */
  readonly checksum: number;
}

/** A tensor the writer will place: everything but offset and checksum. */
export interface TensorPlan {
  readonly name: string;
  readonly type: number;
  readonly layout: number;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/** name length + one byte + type + layout + nDims + one dim + offset + byteLength + crc. */
const MIN_TENSOR_ENTRY_BYTES = 4 + 1 + 4 + 4 + 4 + 8 + 8 + 8 + 4;

// ---------------------------------------------------------------------------------------------------------
// Building

/**
 * The header bytes `[0, dataOffset)` of a file being written, with tensor offsets already placed. The
 * writer fills in each tensor's checksum as its data streams by, then `seal()`s the prefix and header CRCs.
 */
export class HeaderImage {
  private readonly view: DataView;

  private constructor(
    readonly bytes: Uint8Array,
    readonly headerLength: number,
    readonly dataOffset: number,
    readonly fileLength: number,
    /** Absolute offset of each tensor's data. */
    readonly tensorOffsets: readonly number[],
    private readonly checksumPositions: readonly number[],
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Encodes metadata, provenance and the tensor directory; inputs are validated by the caller except values. */
  static build(metadata: ModelMetadata, provenance: ReadonlyArray<readonly [string, MetadataValue]>, tensors: readonly TensorPlan[]): HeaderImage {
    const w = new ByteWriter();
    w.zeros(SMQ_PREFIX_BYTES);
    const metadataCount = encodeEntries(w, metadata.entries, 'metadata');
    const provenanceCount = encodeEntries(w, provenance, 'provenance');
    const offsetPositions: number[] = [];
    const checksumPositions: number[] = [];
    for (const t of tensors) {
      const name = encodeUtf8Strict(t.name) as Uint8Array;
      w.u32(name.length);
      w.bytes(name);
      w.u32(t.type);
      w.u32(t.layout);
      w.u32(t.shape.length);
      for (const ne of t.shape) w.u64(BigInt(ne));
      offsetPositions.push(w.length);
      w.u64(0n);
      w.u64(BigInt(t.byteLength));
      checksumPositions.push(w.length);
      w.u32(0);
    }
    w.u32(0); // header CRC, sealed last
    const headerLength = w.length;
    if (headerLength > SMQ_MAX_HEADER_BYTES) {
      throw new SmqWriteError('HEADER_TOO_LARGE', `header would be ${headerLength} bytes, the format allows ${SMQ_MAX_HEADER_BYTES}`);
    }
    const dataOffset = align64(headerLength);
    w.zeros(dataOffset - headerLength);
    const bytes = w.toBytes();
    const view = new DataView(bytes.buffer);
    const tensorOffsets: number[] = [];
    let end = dataOffset;
    tensors.forEach((t, i) => {
      tensorOffsets.push(end);
      view.setBigUint64(offsetPositions[i] as number, BigInt(end), true);
      end = align64(end + t.byteLength);
    });
    bytes.set(SMQ_MAGIC, PrefixField.magic);
    view.setUint32(PrefixField.version, SMQ_VERSION, true);
    view.setBigUint64(PrefixField.headerLength, BigInt(headerLength), true);
    view.setBigUint64(PrefixField.dataOffset, BigInt(dataOffset), true);
    view.setBigUint64(PrefixField.fileLength, BigInt(end), true);
    view.setUint32(PrefixField.metadataCount, metadataCount, true);
    view.setUint32(PrefixField.provenanceCount, provenanceCount, true);
    view.setUint32(PrefixField.tensorCount, tensors.length, true);
    view.setUint32(PrefixField.alignment, SMQ_ALIGNMENT, true);
    return new HeaderImage(bytes, headerLength, dataOffset, end, tensorOffsets, checksumPositions);
  }

  setTensorChecksum(index: number, checksum: number): void {
    this.view.setUint32(this.checksumPositions[index] as number, checksum, true);
  }

  /** Writes the prefix and header CRCs; returns the finished bytes `[0, dataOffset)`. */
  seal(): Uint8Array {
    sealHeader(this.bytes, this.headerLength);
    return this.bytes;
  }
}

/** Recomputes the prefix CRC and the header CRC of `bytes` (which hold at least `[0, headerLength)`). */
export function sealHeader(bytes: Uint8Array, headerLength: number): void {
  sealPrefix(bytes);
  const crcAt = headerLength - SMQ_CHECKSUM_BYTES;
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(crcAt, crc32(bytes.subarray(0, crcAt)), true);
}

/** Recomputes the prefix CRC of `bytes` (at least 64 bytes). */
export function sealPrefix(bytes: Uint8Array): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(PrefixField.prefixCrc, crc32(bytes.subarray(0, PrefixField.prefixCrc)), true);
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

/** The validated fixed prefix. */
export interface SmqPrefix {
  readonly version: number;
  readonly headerLength: number;
  readonly dataOffset: number;
  readonly fileLength: number;
  readonly metadataCount: number;
  readonly provenanceCount: number;
  readonly tensorCount: number;
}

function fail(code: SmqFormatErrorCode, detail: string, offset: number, field: string, tensor?: string): never {
  throw new SmqFormatError(code, detail, tensor === undefined ? { offset, field } : { offset, field, tensor });
}

/**
 * Validates the prefix from the first `min(64, fileSize)` bytes of a file of `fileSize` bytes. After it
 * returns, `[0, dataOffset)` lies inside the file and is at most `SMQ_MAX_HEADER_BYTES` + 63 bytes.
 */
export function parsePrefix(bytes: Uint8Array, fileSize: number): SmqPrefix {
  const magicBytes = Math.min(bytes.length, SMQ_MAGIC.length);
  for (let i = 0; i < magicBytes; i++) {
    if (bytes[i] !== SMQ_MAGIC[i]) fail(SmqFormatErrorCode.BAD_MAGIC, 'not an SMQ file (magic is 89 53 4D 51 0D 0A 1A 0A)', i, 'prefix.magic');
  }
  if (bytes.length < PrefixField.version + 4) fail(SmqFormatErrorCode.TRUNCATED, `file is ${fileSize} bytes, too short for the prefix`, fileSize, 'prefix');
  const c = new ByteCursor(bytes, PrefixField.version, bytes.length);
  const version = c.u32('prefix.version');
  if (version !== SMQ_VERSION) fail(SmqFormatErrorCode.UNSUPPORTED_VERSION, `version ${version}, this reader reads version ${SMQ_VERSION}`, PrefixField.version, 'prefix.version');
  if (bytes.length < SMQ_PREFIX_BYTES) fail(SmqFormatErrorCode.TRUNCATED, `file is ${fileSize} bytes, the prefix alone is ${SMQ_PREFIX_BYTES}`, fileSize, 'prefix');
  const view = new DataView(bytes.buffer, bytes.byteOffset, SMQ_PREFIX_BYTES);
  const storedCrc = view.getUint32(PrefixField.prefixCrc, true);
  const actualCrc = crc32(bytes.subarray(0, PrefixField.prefixCrc));
  if (storedCrc !== actualCrc) {
    fail(SmqFormatErrorCode.PREFIX_CHECKSUM_MISMATCH, `prefix CRC-32 is ${hex(actualCrc)}, stored ${hex(storedCrc)}: the prefix is corrupted`, PrefixField.prefixCrc, 'prefix.prefixCrc');
  }
  const flags = c.u32('prefix.flags');
  if (flags !== 0) fail(SmqFormatErrorCode.UNSUPPORTED_FLAGS, `flags are ${hex(flags)}, version 1 defines none`, PrefixField.flags, 'prefix.flags');
  const headerLength = c.u64Number('prefix.headerLength');
  const dataOffset = c.u64Number('prefix.dataOffset');
  const fileLength = c.u64Number('prefix.fileLength');
  const metadataCount = c.u32('prefix.metadataCount');
  const provenanceCount = c.u32('prefix.provenanceCount');
  const tensorCount = c.u32('prefix.tensorCount');
  const alignment = c.u32('prefix.alignment');
  const reserved = c.u32('prefix.reserved');
  if (alignment !== SMQ_ALIGNMENT) fail(SmqFormatErrorCode.UNSUPPORTED_ALIGNMENT, `alignment ${alignment}, version 1 uses ${SMQ_ALIGNMENT}`, PrefixField.alignment, 'prefix.alignment');
  if (reserved !== 0) fail(SmqFormatErrorCode.RESERVED_NOT_ZERO, `reserved field is ${reserved}`, PrefixField.reserved, 'prefix.reserved');
  if (fileLength > fileSize) fail(SmqFormatErrorCode.TRUNCATED, `file is ${fileSize} bytes, its prefix says ${fileLength}`, fileSize, 'prefix.fileLength');
  if (fileLength < fileSize) fail(SmqFormatErrorCode.FILE_LENGTH_MISMATCH, `file is ${fileSize} bytes, its prefix says ${fileLength}: bytes were appended`, fileLength, 'prefix.fileLength');
  if (headerLength > SMQ_MAX_HEADER_BYTES) fail(SmqFormatErrorCode.HEADER_TOO_LARGE, `header length ${headerLength} exceeds ${SMQ_MAX_HEADER_BYTES}`, PrefixField.headerLength, 'prefix.headerLength');
  if (headerLength < SMQ_MIN_HEADER_BYTES || headerLength > fileLength) {
    fail(SmqFormatErrorCode.BAD_HEADER_LENGTH, `header length ${headerLength} is not within [${SMQ_MIN_HEADER_BYTES}, file length ${fileLength}]`, PrefixField.headerLength, 'prefix.headerLength');
  }
  if (dataOffset !== align64(headerLength) || dataOffset > fileLength) {
    fail(SmqFormatErrorCode.BAD_DATA_OFFSET, `data offset ${dataOffset}, must be align64(header length ${headerLength}) = ${align64(headerLength)} and within the file`, PrefixField.dataOffset, 'prefix.dataOffset');
  }
  return { version, headerLength, dataOffset, fileLength, metadataCount, provenanceCount, tensorCount };
}

/** The parsed and validated header. */
export interface ParsedHeader {
  readonly prefix: SmqPrefix;
  readonly metadata: ModelMetadata;
  readonly provenance: SmqProvenance;
  readonly tensors: SmqTensorInfo[];
}

/** Parses the header from `bytes` = the file's `[0, prefix.dataOffset)`. */
export function parseHeader(bytes: Uint8Array, prefix: SmqPrefix): ParsedHeader {
  const { headerLength, dataOffset, fileLength } = prefix;
  const crcAt = headerLength - SMQ_CHECKSUM_BYTES;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storedCrc = view.getUint32(crcAt, true);
  const actualCrc = crc32(bytes.subarray(0, crcAt));
  if (storedCrc !== actualCrc) {
    fail(SmqFormatErrorCode.HEADER_CHECKSUM_MISMATCH, `header CRC-32 is ${hex(actualCrc)}, stored ${hex(storedCrc)}: the header is corrupted`, crcAt, 'header.crc');
  }
  checkZero(bytes, headerLength, dataOffset, 'header.padding');

  const c = new ByteCursor(bytes, SMQ_PREFIX_BYTES, crcAt);
  const metadata = new ModelMetadata(decodeEntries(c, prefix.metadataCount, 'metadata', PrefixField.metadataCount).map((e) => [e.key, e.value] as const));
  const provenance = provenanceFromEntries(decodeEntries(c, prefix.provenanceCount, 'provenance', PrefixField.provenanceCount));

  checkCount(c, prefix.tensorCount, MIN_TENSOR_ENTRY_BYTES, PrefixField.tensorCount, 'prefix.tensorCount');
  const tensors: SmqTensorInfo[] = [];
  const names = new Set<string>();
  let expectedOffset = dataOffset;
  for (let i = 0; i < prefix.tensorCount; i++) {
    const entryAt = c.pos;
    const name = readString(c, `tensors[${i}].name`, { maxBytes: SMQ_MAX_TENSOR_NAME_BYTES, code: SmqFormatErrorCode.BAD_TENSOR_NAME, what: 'tensor name' });
    const field = (part: string) => `tensors[${JSON.stringify(name)}].${part}`;
    if (names.has(name)) fail(SmqFormatErrorCode.DUPLICATE_TENSOR, `tensor ${JSON.stringify(name)} appears twice`, entryAt, field('name'), name);
    names.add(name);
    const at: Record<string, number> = { type: c.pos };
    const type = c.u32(field('type'));
    at.layout = c.pos;
    const layout = c.u32(field('layout'));
    at.shape = c.pos;
    const nDims = c.u32(field('nDims'));
    if (nDims === 0) fail(SmqFormatErrorCode.NO_DIMS, 'a tensor needs 1 to 4 dimensions', at.shape, field('nDims'), name);
    if (nDims > SMQ_MAX_DIMS) fail(SmqFormatErrorCode.TOO_MANY_DIMS, `${nDims} dimensions, at most ${SMQ_MAX_DIMS}`, at.shape, field('nDims'), name);
    const shape: number[] = [];
    for (let d = 0; d < nDims; d++) {
      at[`shape[${d}]`] = c.pos;
      shape.push(c.u64Number(field(`shape[${d}]`)));
    }
    const offsetAt = c.pos;
    const offset = c.u64Number(field('offset'));
    at.byteLength = c.pos;
    const byteLength = c.u64Number(field('byteLength'));
    const checksum = c.u32(field('checksum'));

    const violation = checkTensor(type, layout, shape, byteLength);
    if (violation !== undefined) fail(violation.code, violation.detail, at[violation.part] ?? entryAt, field(violation.part), name);
    if (offset % SMQ_ALIGNMENT !== 0) fail(SmqFormatErrorCode.MISALIGNED_TENSOR, `data offset ${offset} is not a multiple of ${SMQ_ALIGNMENT}`, offsetAt, field('offset'), name);
    if (offset < expectedOffset) fail(SmqFormatErrorCode.TENSOR_OVERLAP, `data offset ${offset} lies before ${expectedOffset}, the end of the previous data`, offsetAt, field('offset'), name);
    if (offset > expectedOffset) fail(SmqFormatErrorCode.TENSOR_GAP, `data offset ${offset}, expected ${expectedOffset}: tensors must follow each other`, offsetAt, field('offset'), name);
    if (byteLength > fileLength - offset) fail(SmqFormatErrorCode.TENSOR_OUT_OF_FILE, `data [${offset}, ${offset + byteLength}) runs past the end of the file (${fileLength})`, offsetAt, field('offset'), name);
    expectedOffset = align64(offset + byteLength);
    tensors.push({ name, type, shape, offset, byteLength, layout, checksum });
  }
  if (c.pos !== crcAt) fail(SmqFormatErrorCode.HEADER_LENGTH_MISMATCH, `header sections end at ${c.pos}, the header length says ${crcAt}`, c.pos, 'header');
  if (expectedOffset !== fileLength) {
    fail(SmqFormatErrorCode.FILE_LENGTH_MISMATCH, `data ends at ${expectedOffset}, the file is ${fileLength} bytes`, PrefixField.fileLength, 'prefix.fileLength');
  }
  return { prefix, metadata, provenance, tensors };
}

/** Throws PADDING_NOT_ZERO at the first non-zero byte of `bytes[from, to)` (offsets are file offsets + `base`). */
export function checkZero(bytes: Uint8Array, from: number, to: number, field: string, base = 0, tensor?: string): void {
  for (let i = from; i < to; i++) {
    if (bytes[i] !== 0) fail(SmqFormatErrorCode.PADDING_NOT_ZERO, `padding byte is ${bytes[i]}, must be 0`, base + i, field, tensor);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
