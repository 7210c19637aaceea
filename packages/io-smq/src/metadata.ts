/**
 * The typed key/value metadata model shared by GGUF and SMQ. It holds everything GGUF metadata can
 * hold, losslessly: the 13 GGUF value types (same ids), 64-bit integers as bigint, nested arrays.
 * Readers of both formats return a `ModelMetadata`; the runtime reads model configs and tokenizers
 * from it through the typed accessors, which fail naming the key and the expected type.
 */
import { SmallMindError } from '@smallmind/quantization-tensors';

export const MetadataValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type MetadataValueTypeId = (typeof MetadataValueType)[keyof typeof MetadataValueType];

const typeNames = Object.fromEntries(Object.entries(MetadataValueType).map(([k, v]) => [v, k])) as Record<number, string>;
/** Name of a metadata value type id, e.g. `UINT32`. */
export function metadataTypeName(type: number): string {
  return typeNames[type] ?? `unknown(${type})`;
}

/** A JS value of a scalar metadata type: numbers for 8-32-bit ints and floats, bigint for 64-bit ints. */
export type MetadataScalar = number | bigint | boolean | string;

/** An array value: all elements share `elementType`; nested arrays hold `MetadataArray`s. */
export interface MetadataArray {
  readonly elementType: MetadataValueTypeId;
  readonly values: ReadonlyArray<MetadataScalar | MetadataArray>;
}

export type MetadataValue =
  | { readonly type: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 12; readonly value: number }
  | { readonly type: 10 | 11; readonly value: bigint }
  | { readonly type: 7; readonly value: boolean }
  | { readonly type: 8; readonly value: string }
  | { readonly type: 9; readonly value: MetadataArray };

/** Codes of `MetadataError`: the key is absent, or holds another type than the caller asked for. */
export type MetadataErrorCode = 'MISSING_KEY' | 'WRONG_TYPE';

/** A metadata key is missing or has another type than the caller needs. */
export class MetadataError extends SmallMindError<MetadataErrorCode> {
  override readonly name = 'MetadataError';
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly actual: string | undefined,
  ) {
    super(actual === undefined ? 'MISSING_KEY' : 'WRONG_TYPE', actual === undefined ? `metadata key "${key}" is missing (expected ${expected})` : `metadata key "${key}" is ${actual}, expected ${expected}`);
  }
}

const INTEGER_TYPES = new Set<number>([0, 1, 2, 3, 4, 5, 10, 11]);
const NUMERIC_TYPES = new Set<number>([0, 1, 2, 3, 4, 5, 6, 10, 11, 12]);

function describe(v: MetadataValue): string {
  return v.type === MetadataValueType.ARRAY ? `ARRAY of ${metadataTypeName(v.value.elementType)}` : metadataTypeName(v.type);
}

/** Ordered key -> typed value map with typed accessors. Insertion order is file order. */
export class ModelMetadata {
  readonly entries: ReadonlyMap<string, MetadataValue>;

  constructor(entries: Iterable<readonly [string, MetadataValue]> = []) {
    this.entries = new Map(entries);
  }

  get size(): number {
    return this.entries.size;
  }
  has(key: string): boolean {
    return this.entries.has(key);
  }
  get(key: string): MetadataValue | undefined {
    return this.entries.get(key);
  }
  keys(): string[] {
    return [...this.entries.keys()];
  }

  private need(key: string, expected: string, ok: (v: MetadataValue) => boolean): MetadataValue {
    const v = this.entries.get(key);
    if (v === undefined || !ok(v)) throw new MetadataError(key, expected, v === undefined ? undefined : describe(v));
    return v;
  }

  /** A string value. */
  getString(key: string): string {
    return this.need(key, 'STRING', (v) => v.type === MetadataValueType.STRING).value as string;
  }
  /** A UINT32 value (the type GGUF uses for counts and ids). */
  getU32(key: string): number {
    return this.need(key, 'UINT32', (v) => v.type === MetadataValueType.UINT32).value as number;
  }
  /** A BOOL value. */
  getBool(key: string): boolean {
    return this.need(key, 'BOOL', (v) => v.type === MetadataValueType.BOOL).value as boolean;
  }
  /** A FLOAT32 or FLOAT64 value. */
  getFloat(key: string): number {
    return this.need(key, 'FLOAT32 or FLOAT64', (v) => v.type === MetadataValueType.FLOAT32 || v.type === MetadataValueType.FLOAT64).value as number;
  }
  /**
   * Any integer type as a JS number (converters are not consistent about u32 vs i32 vs u64 for
   * counts); a 64-bit value beyond 2^53 is an error rather than a silently rounded number.
   */
  getInteger(key: string): number {
    const v = this.need(key, 'an integer type', (x) => INTEGER_TYPES.has(x.type));
    if (typeof v.value === 'bigint') {
      if (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new MetadataError(key, 'an integer within +-2^53', `${describe(v)} ${v.value}`);
      }
      return Number(v.value);
    }
    return v.value as number;
  }
  /** Any numeric type (integer or float) as a JS number. */
  getNumber(key: string): number {
    const v = this.need(key, 'a numeric type', (x) => NUMERIC_TYPES.has(x.type));
    return typeof v.value === 'bigint' ? this.getInteger(key) : (v.value as number);
  }
  /** An array, optionally requiring its element type. */
  getArray(key: string, elementType?: MetadataValueTypeId): MetadataArray {
    const expected = elementType === undefined ? 'ARRAY' : `ARRAY of ${metadataTypeName(elementType)}`;
    return this.need(
      key,
      expected,
      (v) => v.type === MetadataValueType.ARRAY && (elementType === undefined || v.value.elementType === elementType),
    ).value as MetadataArray;
  }
  /** An array of STRING as string[]. */
  getStringArray(key: string): string[] {
    return this.getArray(key, MetadataValueType.STRING).values as string[];
  }
  /** An array of any numeric element type as number[] (64-bit elements converted when safe). */
  getNumberArray(key: string): number[] {
    const arr = this.need(key, 'ARRAY of a numeric type', (v) => v.type === MetadataValueType.ARRAY && NUMERIC_TYPES.has(v.value.elementType))
      .value as MetadataArray;
    return arr.values.map((x) => (typeof x === 'bigint' ? Number(x) : (x as number)));
  }

  /** `getX(key)` if the key exists, else `fallback`. A present key of the wrong type still throws. */
  optional<T>(key: string, read: (key: string) => T, fallback: T): T {
    return this.entries.has(key) ? read.call(this, key) : fallback;
  }
}
