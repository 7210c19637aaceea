export { GgmlType, UnknownGgmlTypeError, allGgmlTypes, ggmlTypeInfo, isKnownGgmlType } from './ggml-type.js';
export type { GgmlTypeId, GgmlTypeInfo, GgmlTypeName } from './ggml-type.js';
export type { IWeightTensor } from './weight-tensor.js';
