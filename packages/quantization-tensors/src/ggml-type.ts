/**
 * ggml tensor type ids, as stored in GGUF tensor infos. Ids are an open set (new formats keep
 * arriving upstream): an id we do not know gets an `UnknownGgmlTypeError`, never a guess.
 * Removed ids (4, 5, 31-33, 36-38) are unknown on purpose.
 */
import { SmallMindError } from './errors.js';

export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
  NVFP4: 40,
  Q1_0: 41,
  Q2_0: 42,
} as const;

export type GgmlTypeName = keyof typeof GgmlType;
/** A ggml type id. Plain number: files may carry ids newer than this library. */
export type GgmlTypeId = number;

export interface GgmlTypeInfo {
  readonly id: GgmlTypeId;
  readonly name: GgmlTypeName;
  /** Weights per block (1 for plain scalar types). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
  /** typeSize * 8 / blockSize. */
  readonly bitsPerWeight: number;
}

/** Raised for a type id this library does not know (removed, or newer than us). */
export class UnknownGgmlTypeError extends SmallMindError<'UNKNOWN_TYPE'> {
  override readonly name = 'UnknownGgmlTypeError';
  constructor(readonly typeId: number) {
    super('UNKNOWN_TYPE', `unknown ggml type id ${typeId}`);
  }
}

// [name, blockSize, typeSize] — sizes as in ggml-common.h's block structs.
const layouts: ReadonlyArray<readonly [GgmlTypeName, number, number]> = [
  ['F32', 1, 4],
  ['F16', 1, 2],
  ['Q4_0', 32, 18],
  ['Q4_1', 32, 20],
  ['Q5_0', 32, 22],
  ['Q5_1', 32, 24],
  ['Q8_0', 32, 34],
  ['Q8_1', 32, 36],
  ['Q2_K', 256, 84],
  ['Q3_K', 256, 110],
  ['Q4_K', 256, 144],
  ['Q5_K', 256, 176],
  ['Q6_K', 256, 210],
  ['Q8_K', 256, 292],
  ['IQ2_XXS', 256, 66],
  ['IQ2_XS', 256, 74],
  ['IQ3_XXS', 256, 98],
  ['IQ1_S', 256, 50],
  ['IQ4_NL', 32, 18],
  ['IQ3_S', 256, 110],
  ['IQ2_S', 256, 82],
  ['IQ4_XS', 256, 136],
  ['I8', 1, 1],
  ['I16', 1, 2],
  ['I32', 1, 4],
  ['I64', 1, 8],
  ['F64', 1, 8],
  ['IQ1_M', 256, 56],
  ['BF16', 1, 2],
  ['TQ1_0', 256, 54],
  ['TQ2_0', 256, 66],
  ['MXFP4', 32, 17],
  ['NVFP4', 64, 36],
  ['Q1_0', 128, 18],
  ['Q2_0', 64, 18],
];

const infoById = new Map<number, GgmlTypeInfo>(
  layouts.map(([name, blockSize, typeSize]) => {
    const id = GgmlType[name];
    return [id, Object.freeze({ id, name, blockSize, typeSize, bitsPerWeight: (typeSize * 8) / blockSize })];
  }),
);

/** True when `id` is a ggml type this library knows the layout of. */
export function isKnownGgmlType(id: number): boolean {
  return infoById.has(id);
}

/** Layout facts of a ggml type; throws `UnknownGgmlTypeError` naming the id if unknown. */
export function ggmlTypeInfo(id: GgmlTypeId): GgmlTypeInfo {
  const info = infoById.get(id);
  if (info === undefined) throw new UnknownGgmlTypeError(id);
  return info;
}

/** Every known type, in id order. */
export function allGgmlTypes(): GgmlTypeInfo[] {
  return [...infoById.values()].sort((a, b) => a.id - b.id);
}
