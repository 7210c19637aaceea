export { GgmlType, UnknownGgmlTypeError, allGgmlTypes, ggmlTypeInfo, isKnownGgmlType } from './ggml-type.js';
export type { GgmlTypeId, GgmlTypeInfo, GgmlTypeName } from './ggml-type.js';
export type { BlockFormat } from './block-format.js';
export type { IWeightTensor } from './weight-tensor.js';
export { QuantizationError, UnsupportedGgmlTypeError, WeightTensorError } from './errors.js';
export type { QuantizationErrorCode, QuantizationErrorDetails, WeightTensorErrorCode } from './errors.js';
export { bf16ToF32, f32ToBf16, f32ToFp16, fp16ToF32, readBf16, readFp16, writeBf16, writeFp16 } from './half.js';
export { BlockWeightTensor, shapeToRowsCols } from './block-weight-tensor.js';
export {
  blockFormat,
  byteLengthFor,
  createWeightTensor,
  dequantize,
  dequantizeInto,
  isSupportedGgmlType,
  quantize,
  supportedGgmlTypes,
} from './format-registry.js';
export type { FormatRegistration, WeightTensorConstructor } from './format-registry.js';
export { Fp32Tensor, f32Format } from './formats/f32.js';
export { F16Tensor, f16Format } from './formats/f16.js';
export { BF16Tensor, bf16Format } from './formats/bf16.js';
export { Q4Tensor, q4_0Format } from './formats/q4_0.js';
export { Q4_1Tensor, q4_1Format } from './formats/q4_1.js';
export { Q5_0Tensor, q5_0Format } from './formats/q5_0.js';
export { Q5_1Tensor, q5_1Format } from './formats/q5_1.js';
export { Q8Tensor, q8_0Format } from './formats/q8_0.js';
export { q8_1Format } from './formats/q8_1.js';
// ---- k-quant / IQ exports ----
// ---- end of k-quant / IQ exports ----
