/** Shared by the tests (not part of the public API). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetadataValueType as T, ModelMetadata, type MetadataArray, type MetadataValue } from './metadata.js';

/** A fresh temp directory and a function that removes it. */
export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'smq-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** mulberry32: a small, fast, seedable generator of numbers in [0, 1), so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` deterministic pseudo-random bytes. */
export function seededBytes(n: number, seed: number): Uint8Array {
  const rand = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

const bitsView = new DataView(new ArrayBuffer(8));
/** The number whose binary32 encoding is `bits`. */
export function f32FromBits(bits: number): number {
  bitsView.setUint32(0, bits, true);
  return bitsView.getFloat32(0, true);
}
/** The binary32 bits of `x`. */
export function f32Bits(x: number): number {
  bitsView.setFloat32(0, x, true);
  return bitsView.getUint32(0, true);
}
/** The number whose binary64 encoding is `bits`. */
export function f64FromBits(bits: bigint): number {
  bitsView.setBigUint64(0, bits, true);
  return bitsView.getFloat64(0, true);
}
export function f64Bits(x: number): bigint {
  bitsView.setFloat64(0, x, true);
  return bitsView.getBigUint64(0, true);
}

/** Quiet NaNs with payloads: must keep their exact bits through write and read. */
export const F32_NAN_BITS = 0x7fc12345;
export const F64_NAN_BITS = 0xfff8_0000_dead_beefn;

const arr = (elementType: MetadataArray['elementType'], values: MetadataArray['values']): MetadataArray => ({ elementType, values });

/** Metadata exercising every value type, extremes, NaN payloads, unicode, empty and nested arrays. */
export function everyTypeMetadata(): ModelMetadata {
  const entries: Array<[string, MetadataValue]> = [
    ['u8.max', { type: T.UINT8, value: 255 }],
    ['i8.min', { type: T.INT8, value: -128 }],
    ['u16.max', { type: T.UINT16, value: 65535 }],
    ['i16.min', { type: T.INT16, value: -32768 }],
    ['u32.max', { type: T.UINT32, value: 0xffffffff }],
    ['i32.min', { type: T.INT32, value: -0x80000000 }],
    ['f32.value', { type: T.FLOAT32, value: Math.fround(-1.1754942e-38) }],
    ['f32.nan', { type: T.FLOAT32, value: f32FromBits(F32_NAN_BITS) }],
    ['f32.negzero', { type: T.FLOAT32, value: -0 }],
    ['f32.inf', { type: T.FLOAT32, value: -Infinity }],
    ['bool.true', { type: T.BOOL, value: true }],
    ['bool.false', { type: T.BOOL, value: false }],
    ['string.empty', { type: T.STRING, value: '' }],
    ['string.unicode', { type: T.STRING, value: 'café 🍎 中文 e\u0301 \u0000 end' }],
    ['u64.beyond.2^53', { type: T.UINT64, value: 2n ** 64n - 1n }],
    ['u64.2^53+1', { type: T.UINT64, value: 2n ** 53n + 1n }],
    ['i64.min', { type: T.INT64, value: -(2n ** 63n) }],
    ['i64.negative', { type: T.INT64, value: -5n }],
    ['f64.value', { type: T.FLOAT64, value: 5e-324 }],
    ['f64.nan', { type: T.FLOAT64, value: f64FromBits(F64_NAN_BITS) }],
    ['array.empty', { type: T.ARRAY, value: arr(T.INT32, []) }],
    ['array.strings', { type: T.ARRAY, value: arr(T.STRING, ['▁Once', '', '<0xF0>', '🍎']) }],
    ['array.f32', { type: T.ARRAY, value: arr(T.FLOAT32, [0, -0, Math.fround(0.1), f32FromBits(F32_NAN_BITS), Infinity]) }],
    ['array.f64', { type: T.ARRAY, value: arr(T.FLOAT64, [f64FromBits(F64_NAN_BITS), -Number.MAX_VALUE]) }],
    ['array.u64', { type: T.ARRAY, value: arr(T.UINT64, [0n, 2n ** 63n, 2n ** 64n - 1n]) }],
    ['array.i64', { type: T.ARRAY, value: arr(T.INT64, [-(2n ** 63n), 2n ** 63n - 1n]) }],
    ['array.bool', { type: T.ARRAY, value: arr(T.BOOL, [true, false, true]) }],
    ['array.small.ints', { type: T.ARRAY, value: arr(T.INT8, [-128, 127, 0]) }],
    ['array.u8', { type: T.ARRAY, value: arr(T.UINT8, [0, 255]) }],
    ['array.u16', { type: T.ARRAY, value: arr(T.UINT16, [65535]) }],
    ['array.i16', { type: T.ARRAY, value: arr(T.INT16, [-32768, 32767]) }],
    ['array.u32', { type: T.ARRAY, value: arr(T.UINT32, [4294967295]) }],
    [
      'array.nested',
      { type: T.ARRAY, value: arr(T.ARRAY, [arr(T.UINT32, [1, 2, 3]), arr(T.STRING, ['a', 'ü']), arr(T.ARRAY, [arr(T.INT64, [-1n]), arr(T.ARRAY, [])]), arr(T.BOOL, [])]) },
    ],
    ['ключ.🔑', { type: T.STRING, value: 'unicode key' }],
  ];
  return new ModelMetadata(entries);
}

/** A bit-exact, comparable rendering of metadata: numbers as their float64 bits, bigints tagged. */
export function metadataSnapshot(metadata: ModelMetadata): unknown {
  const render = (v: unknown): unknown => {
    if (typeof v === 'number') return `f64:${f64Bits(v).toString(16)}`;
    if (typeof v === 'bigint') return `bigint:${v}`;
    if (typeof v === 'object' && v !== null) {
      const a = v as MetadataArray;
      return { elementType: a.elementType, values: a.values.map(render) };
    }
    return v;
  };
  return [...metadata.entries].map(([k, v]) => [k, v.type, render(v.value)]);
}

// ---------------------------------------------------------------------------------------------------------
// Locating and patching fields of a built file, found by searching its bytes (independent of the parser).

const utf8 = new TextEncoder();

/** `u32 length` + UTF-8 bytes of `s`, as the header stores names and keys. */
function lengthPrefixed(s: string): Uint8Array {
  const b = utf8.encode(s);
  const out = new Uint8Array(4 + b.length);
  new DataView(out.buffer).setUint32(0, b.length, true);
  out.set(b, 4);
  return out;
}

function find(file: Uint8Array, pattern: Uint8Array): number {
  const at = Buffer.from(file.buffer, file.byteOffset, file.byteLength).indexOf(pattern);
  if (at < 0) throw new Error('pattern not found in file');
  return at;
}

/** Positions of a metadata/provenance entry's fields. */
export function entryAt(file: Uint8Array, key: string): { key: number; type: number; payload: number } {
  const at = find(file, lengthPrefixed(key));
  const type = at + lengthPrefixed(key).length;
  return { key: at, type, payload: type + 4 };
}

/** Positions of a tensor directory entry's fields (`dims` has one position per dimension). */
export function tensorAt(file: Uint8Array, name: string, nDims: number) {
  const at = find(file, lengthPrefixed(name));
  const type = at + lengthPrefixed(name).length;
  const dims = Array.from({ length: nDims }, (_, i) => type + 12 + 8 * i);
  const offset = type + 12 + 8 * nDims;
  return { name: at, type, layout: type + 4, nDims: type + 8, dims, offset, byteLength: offset + 8, checksum: offset + 16 };
}

export function view(file: Uint8Array): DataView {
  return new DataView(file.buffer, file.byteOffset, file.byteLength);
}
export function patchU32(file: Uint8Array, at: number, v: number): void {
  view(file).setUint32(at, v, true);
}
export function patchU64(file: Uint8Array, at: number, v: number | bigint): void {
  view(file).setBigUint64(at, BigInt(v), true);
}
export function readU64(file: Uint8Array, at: number): number {
  return Number(view(file).getBigUint64(at, true));
}

/**
 * Splices `extra` into the header of a tensor-less file at `at` (< headerLength - 4) and fixes the prefix
 * lengths and both checksums: the way to craft header contents the encoder refuses to produce.
 */
export function insertIntoHeader(file: Uint8Array, at: number, extra: Uint8Array): Uint8Array {
  if (view(file).getUint32(48, true) !== 0) throw new Error('insertIntoHeader works on files without tensors');
  const headerLength = readU64(file, 16) + extra.length;
  const dataOffset = Math.ceil(headerLength / 64) * 64;
  const out = new Uint8Array(dataOffset);
  out.set(file.subarray(0, at));
  out.set(extra, at);
  out.set(file.subarray(at, headerLength - extra.length), at + extra.length);
  patchU64(out, 16, headerLength);
  patchU64(out, 24, dataOffset);
  patchU64(out, 32, dataOffset);
  return out;
}
