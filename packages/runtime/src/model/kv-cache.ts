import type { KvStore } from '@smallmind/quantization-kernels';
import { f32ToFp16, fp16ToF32 } from '@smallmind/quantization-tensors';

/** Element type of a session's key/value cache. */
export type KvType = 'f32' | 'f16';

let fp16Table: Float32Array | undefined;
/** All 65536 half-precision values as floats (256 KiB, built once): an F16 cache read is one lookup. */
function halfToFloat(): Float32Array {
  if (fp16Table === undefined) {
    fp16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) fp16Table[h] = fp16ToF32(h);
  }
  return fp16Table;
}

/** A view of cached rows as floats: row t of the cache is at (t - firstRow) * rowWidth in `data`. */
export interface KvRows {
  readonly keys: Float32Array;
  readonly values: Float32Array;
  /** Cache position of the first row held in `keys` / `values`. */
  readonly firstRow: number;
}

/**
 * Per-layer key and value rows (`headCountKv * headDim` each) for positions 0 .. capacity. Storage grows by
 * doubling up to `maxPositions` (the session's context size), so memory is used only as the context fills.
 * F16 halves the memory; reads then decode the visible rows into float scratch.
 *
 * An F32 cache given a kernel store (`createStore`, from the kernel backend) keeps its rows in kernel memory
 * instead, each layer's keys and values in a region of `maxPositions` rows (layer l's keys at store float
 * 2 * l * maxPositions * rowWidth, its values right after): rows stay where they are when the cache grows
 * (the memory grows; pages never written cost no RAM), every layer's rows are contiguous for the kernel,
 * and `kernelRows` hands the attention kernel the rows where they are.
 */
export class KvCache {
  private keys: Array<Float32Array | Uint16Array> = [];
  private values: Array<Float32Array | Uint16Array> = [];
  private capacity = 0;
  private scratchK = new Float32Array(0);
  private scratchV = new Float32Array(0);
  private store: KvStore | undefined;

  constructor(
    readonly type: KvType,
    readonly layerCount: number,
    readonly rowWidth: number,
    readonly maxPositions: number,
    /** Kernel memory for an F32 cache (undefined from the factory: JS arrays). */
    private readonly createStore?: (maxFloats: number) => KvStore | undefined,
  ) {
    if (type === 'f32') this.store = createStore?.(2 * layerCount * maxPositions * rowWidth);
  }

  /** Store floats in use once `positions` rows are reserved (up to the last layer's value row positions - 1). */
  private storeFloats(positions: number): number {
    return ((2 * this.layerCount - 1) * this.maxPositions + positions) * this.rowWidth;
  }

  /**
   * The kernel store and where the layer's rows are in it (row t of the keys at keyOffset + t * rowStride),
   * or undefined for a cache in JS arrays.
   */
  kernelRows(layer: number): { store: KvStore; keyOffset: number; valueOffset: number; rowStride: number } | undefined {
    const store = this.store;
    if (store === undefined) return undefined;
    const keyOffset = 2 * layer * this.maxPositions * this.rowWidth;
    return { store, keyOffset, valueOffset: keyOffset + this.maxPositions * this.rowWidth, rowStride: this.rowWidth };
  }

  /** Bytes one position costs across all layers (keys and values). */
  get bytesPerPosition(): number {
    return this.layerCount * 2 * this.rowWidth * (this.type === 'f32' ? 4 : 2);
  }

  /** Bytes allocated now. */
  get allocatedBytes(): number {
    return this.capacity * this.bytesPerPosition;
  }

  /** Makes room for `positions` rows, keeping the first `used` rows. */
  reserve(positions: number, used: number): void {
    if (positions <= this.capacity) return;
    const capacity = Math.min(this.maxPositions, Math.max(positions, this.capacity * 2, 64));
    if (this.store !== undefined) {
      this.store.reserve(this.storeFloats(capacity));
      this.capacity = capacity;
      return;
    }
    const width = this.rowWidth;
    const make = (): Float32Array | Uint16Array => (this.type === 'f32' ? new Float32Array(capacity * width) : new Uint16Array(capacity * width));
    for (let layer = 0; layer < this.layerCount; layer++) {
      const k = make();
      const v = make();
      const oldK = this.keys[layer];
      const oldV = this.values[layer];
      if (oldK !== undefined && oldV !== undefined) {
        k.set(oldK.subarray(0, used * width));
        v.set(oldV.subarray(0, used * width));
      }
      this.keys[layer] = k;
      this.values[layer] = v;
    }
    this.capacity = capacity;
  }

  /** Stores `rows` rows of keys and values (row-major, `rowWidth` each) at positions from `position`. */
  write(layer: number, position: number, rows: number, keys: Float32Array, values: Float32Array): void {
    const width = this.rowWidth;
    const kernel = this.kernelRows(layer);
    if (kernel !== undefined) {
      const data = kernel.store.data();
      data.set(keys.subarray(0, rows * width), kernel.keyOffset + position * width);
      data.set(values.subarray(0, rows * width), kernel.valueOffset + position * width);
      return;
    }
    const k = this.keys[layer]!;
    const v = this.values[layer]!;
    const count = rows * this.rowWidth;
    const offset = position * this.rowWidth;
    if (k instanceof Float32Array && v instanceof Float32Array) {
      k.set(keys.subarray(0, count), offset);
      v.set(values.subarray(0, count), offset);
      return;
    }
    for (let i = 0; i < count; i++) {
      k[offset + i] = f32ToFp16(keys[i]!);
      v[offset + i] = f32ToFp16(values[i]!);
    }
  }

  /** Rows [first, end) of one layer as floats (F32: the storage itself; F16: decoded into scratch). */
  read(layer: number, first: number, end: number): KvRows {
    const kernel = this.kernelRows(layer);
    if (kernel !== undefined) {
      const data = kernel.store.data();
      return { keys: data.subarray(kernel.keyOffset), values: data.subarray(kernel.valueOffset), firstRow: 0 };
    }
    const k = this.keys[layer]!;
    const v = this.values[layer]!;
    if (k instanceof Float32Array && v instanceof Float32Array) return { keys: k, values: v, firstRow: 0 };
    const width = this.rowWidth;
    const count = (end - first) * width;
    if (this.scratchK.length < count) {
      this.scratchK = new Float32Array(Math.max(count, 2 * this.scratchK.length));
      this.scratchV = new Float32Array(this.scratchK.length);
    }
    const table = halfToFloat();
    const base = first * width;
    const sk = this.scratchK;
    const sv = this.scratchV;
    for (let i = 0; i < count; i++) {
      sk[i] = table[k[base + i]!]!;
      sv[i] = table[v[base + i]!]!;
    }
    return { keys: sk, values: sv, firstRow: first };
  }

  /** A copy holding the first `positions` rows (for `Session.clone`). */
  copy(positions: number): KvCache {
    const next = new KvCache(this.type, this.layerCount, this.rowWidth, this.maxPositions, this.createStore);
    if (positions > 0) {
      next.reserve(positions, 0);
      if (this.store !== undefined || next.store !== undefined) {
        for (let layer = 0; layer < this.layerCount; layer++) {
          const rows = this.read(layer, 0, positions);
          next.write(layer, 0, positions, rows.keys, rows.values);
        }
        return next;
      }
      for (let layer = 0; layer < this.layerCount; layer++) {
        next.keys[layer]!.set(this.keys[layer]!.subarray(0, positions * this.rowWidth));
        next.values[layer]!.set(this.values[layer]!.subarray(0, positions * this.rowWidth));
      }
    }
    return next;
  }

  /** Drops all storage. */
  release(): void {
    this.keys = [];
    this.values = [];
    this.capacity = 0;
    this.store = undefined;
    this.scratchK = new Float32Array(0);
    this.scratchV = new Float32Array(0);
  }
}
