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
export { Q2KTensor, q2KFormat } from './formats/q2_k.js';
export { Q3KTensor, q3KFormat } from './formats/q3_k.js';
export { Q4KTensor, q4KFormat } from './formats/q4_k.js';
export { Q5KTensor, q5KFormat } from './formats/q5_k.js';
export { Q6KTensor, q6KFormat } from './formats/q6_k.js';
export { q8KFormat } from './formats/q8_k.js';
export { IQ3XXSTensor, iq3XxsFormat } from './formats/iq3_xxs.js';
export { IQ4NLTensor, iq4NlFormat } from './formats/iq4_nl.js';
export { IQ3STensor, iq3SFormat } from './formats/iq3_s.js';
export { IQ4XSTensor, iq4XsFormat } from './formats/iq4_xs.js';
// ---- end of k-quant / IQ exports ----
