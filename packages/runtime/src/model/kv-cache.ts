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
 * instead, position-major: position t's key row for layer l at store float (t * layerCount + l) * 2 * rowWidth,
 * its value row right after. Growing is then just growing the memory (no rows move), and `kernelRows` hands
 * the attention kernel the rows where they are.
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
    if (type === 'f32') this.store = createStore?.(maxPositions * this.storeStride);
  }

  /** Floats between a layer's consecutive rows in the kernel store. */
  private get storeStride(): number {
    return 2 * this.layerCount * this.rowWidth;
  }

  /**
   * The kernel store and where the layer's rows are in it (row t of the keys at keyOffset + t * rowStride),
   * or undefined for a cache in JS arrays.
   */
  kernelRows(layer: number): { store: KvStore; keyOffset: number; valueOffset: number; rowStride: number } | undefined {
    const store = this.store;
    if (store === undefined) return undefined;
    const keyOffset = layer * 2 * this.rowWidth;
    return { store, keyOffset, valueOffset: keyOffset + this.rowWidth, rowStride: this.storeStride };
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
      this.store.reserve(capacity * this.storeStride);
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
    if (this.store !== undefined) {
      const data = this.store.data();
      const stride = this.storeStride;
      for (let r = 0, at = (position * this.layerCount + layer) * 2 * width; r < rows; r++, at += stride) {
        data.set(keys.subarray(r * width, (r + 1) * width), at);
        data.set(values.subarray(r * width, (r + 1) * width), at + width);
      }
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
    const width = this.rowWidth;
    const count = (end - first) * width;
    if (this.scratchK.length < count) {
      this.scratchK = new Float32Array(Math.max(count, 2 * this.scratchK.length));
      this.scratchV = new Float32Array(this.scratchK.length);
    }
    const kernel = this.kernelRows(layer);
    if (kernel !== undefined) {
      const data = kernel.store.data();
      for (let t = first; t < end; t++) {
        const at = t * kernel.rowStride;
        this.scratchK.set(data.subarray(kernel.keyOffset + at, kernel.keyOffset + at + width), (t - first) * width);
        this.scratchV.set(data.subarray(kernel.valueOffset + at, kernel.valueOffset + at + width), (t - first) * width);
      }
      return { keys: this.scratchK, values: this.scratchV, firstRow: first };
    }
    const k = this.keys[layer]!;
    const v = this.values[layer]!;
    if (k instanceof Float32Array && v instanceof Float32Array) return { keys: k, values: v, firstRow: 0 };
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
      if (this.store !== undefined && next.store !== undefined) {
        next.store.data().set(this.store.data().subarray(0, positions * this.storeStride));
        return next;
      }
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
