/**
 * Test support: hand-crafting GGUF bytes field by field, so tests can build exactly the (invalid) file
 * they need. Values are written by callbacks, so any type id can be paired with any payload.
 */
import { MetadataValueType } from '@smallmind/io-smq';
import { isKnownGgmlType, ggmlTypeInfo } from '@smallmind/quantization-tensors';
import { ByteWriter } from '../encoder.js';
import { GGUF_MAGIC, alignUp } from '../format.js';

export interface CraftKv {
  readonly key: string;
  /** Value type id written after the key. */
  readonly type: number;
  /** Writes the value payload. */
  readonly value: (w: ByteWriter) => void;
}

export interface CraftTensor {
  readonly name: string;
  readonly dims: ReadonlyArray<number | bigint>;
  readonly type: number;
  /** Relative to the data section. */
  readonly offset: number | bigint;
  /** Written n_dims (default dims.length). */
  readonly nDims?: number;
}

export interface CraftOptions {
  readonly magic?: number;
  readonly version?: number;
  readonly tensorCount?: number | bigint;
  readonly kvCount?: number | bigint;
  readonly kvs?: readonly CraftKv[];
  readonly tensors?: readonly CraftTensor[];
  /** Alignment used to pad the header (the file's own general.alignment is whatever kvs say). */
  readonly alignment?: number;
  /** Data section length; default: enough for every tensor with a known type and sane size. */
  readonly dataBytes?: number;
}

export const kv = {
  u32: (key: string, v: number): CraftKv => ({ key, type: MetadataValueType.UINT32, value: (w) => w.u32(v) }),
  u64: (key: string, v: number | bigint): CraftKv => ({ key, type: MetadataValueType.UINT64, value: (w) => w.u64(v) }),
  str: (key: string, v: string): CraftKv => ({ key, type: MetadataValueType.STRING, value: (w) => w.string(v) }),
  raw: (key: string, type: number, value: (w: ByteWriter) => void): CraftKv => ({ key, type, value }),
};

export const f32Tensor = (name: string, dims: number[], offset: number): CraftTensor => ({ name, dims, type: 0, offset });

function defaultDataBytes(tensors: readonly CraftTensor[], alignment: number): number {
  let end = 0;
  for (const t of tensors) {
    if (!isKnownGgmlType(t.type)) continue;
    const info = ggmlTypeInfo(t.type);
    const elements = t.dims.reduce<number>((a, d) => a * Number(d), 1);
    const bytes = (elements / info.blockSize) * info.typeSize;
    const offset = Number(t.offset);
    if (Number.isSafeInteger(bytes) && bytes >= 0 && offset + bytes < 1 << 24) end = Math.max(end, offset + bytes);
  }
  return alignUp(end, alignment);
}

export function craftGguf(options: CraftOptions = {}): Uint8Array {
  const version = options.version ?? 3;
  const kvs = options.kvs ?? [];
  const tensors = options.tensors ?? [];
  const alignment = options.alignment ?? 32;
  const w = new ByteWriter();
  const size = (v: number | bigint): void => {
    if (version === 1) w.u32(Number(v));
    else w.u64(v);
  };
  const text = (s: string): void => {
    const bytes = new TextEncoder().encode(s);
    size(bytes.length);
    w.bytes(bytes);
  };
  w.u32(options.magic ?? GGUF_MAGIC).u32(version);
  size(options.tensorCount ?? tensors.length);
  size(options.kvCount ?? kvs.length);
  for (const entry of kvs) {
    text(entry.key);
    w.u32(entry.type);
    entry.value(w);
  }
  for (const t of tensors) {
    text(t.name);
    w.u32(t.nDims ?? t.dims.length);
    for (const d of t.dims) size(d);
    w.u32(t.type).u64(t.offset);
  }
  w.zeros(alignUp(w.length, alignment) - w.length);
  w.zeros(options.dataBytes ?? defaultDataBytes(tensors, alignment));
  return w.finish();
}
