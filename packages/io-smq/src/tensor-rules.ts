/**
 * The rules a tensor's type, layout, shape and byte length must satisfy (SPEC.md §4). Shared by the writer
 * (which refuses to start a file that breaks them) and the reader (which refuses to open one).
 */
import { ggmlTypeInfo, isKnownGgmlType } from '@smallmind/quantization-tensors';
import { SMQ_LAYOUT_GGML, SMQ_MAX_DIMS } from './constants.js';
import { SmqFormatErrorCode } from './errors.js';

export interface TensorRuleViolation {
  readonly code: SmqFormatErrorCode;
  readonly detail: string;
  /** Which part of the tensor is wrong: `type`, `layout`, `shape`, `shape[i]` or `byteLength`. */
  readonly part: string;
}

/**
 * Byte length of a layout-0 tensor of `type` and `shape` (ggml ne order), or the rule it breaks. Never
 * computes with a value beyond 2^53, so the answer is exact or a `SIZE_OVERFLOW`.
 */
export function tensorByteLength(type: number, layout: number, shape: readonly number[]): number | TensorRuleViolation {
  if (!isKnownGgmlType(type)) return { code: SmqFormatErrorCode.UNKNOWN_TENSOR_TYPE, detail: `unknown ggml type id ${type}`, part: 'type' };
  if (layout !== SMQ_LAYOUT_GGML) return { code: SmqFormatErrorCode.UNKNOWN_LAYOUT, detail: `unknown tensor layout ${layout} (this reader knows 0 = ggml blocks)`, part: 'layout' };
  if (shape.length === 0) return { code: SmqFormatErrorCode.NO_DIMS, detail: 'a tensor needs 1 to 4 dimensions', part: 'shape' };
  if (shape.length > SMQ_MAX_DIMS) return { code: SmqFormatErrorCode.TOO_MANY_DIMS, detail: `${shape.length} dimensions, at most ${SMQ_MAX_DIMS}`, part: 'shape' };
  let elements = 1;
  for (let i = 0; i < shape.length; i++) {
    const ne = shape[i] as number;
    if (!Number.isSafeInteger(ne) || ne < 1) return { code: SmqFormatErrorCode.ZERO_DIM, detail: `dimension ${i} is ${ne}, must be an integer >= 1`, part: `shape[${i}]` };
    if (elements > Number.MAX_SAFE_INTEGER / ne) return { code: SmqFormatErrorCode.SIZE_OVERFLOW, detail: `element count of [${shape.join(', ')}] exceeds 2^53`, part: 'shape' };
    elements *= ne;
  }
  const info = ggmlTypeInfo(type);
  const rowLength = shape[0] as number;
  if (rowLength % info.blockSize !== 0) {
    return { code: SmqFormatErrorCode.ROW_NOT_BLOCK_MULTIPLE, detail: `row length ne[0] = ${rowLength} is not a multiple of ${info.name}'s block size ${info.blockSize}`, part: 'shape[0]' };
  }
  const blocks = elements / info.blockSize;
  if (blocks > Number.MAX_SAFE_INTEGER / info.typeSize) return { code: SmqFormatErrorCode.SIZE_OVERFLOW, detail: `byte size of [${shape.join(', ')}] ${info.name} exceeds 2^53`, part: 'shape' };
  return blocks * info.typeSize;
}

/** Checks `byteLength` against type and shape; undefined when the tensor is consistent. */
export function checkTensor(type: number, layout: number, shape: readonly number[], byteLength: number): TensorRuleViolation | undefined {
  const expected = tensorByteLength(type, layout, shape);
  if (typeof expected !== 'number') return expected;
  if (byteLength !== expected) {
    return { code: SmqFormatErrorCode.SIZE_MISMATCH, detail: `byteLength is ${byteLength}, type ${ggmlTypeInfo(type).name} and shape [${shape.join(', ')}] need ${expected}`, part: 'byteLength' };
  }
  return undefined;
}
