export { GgmlType, UnknownGgmlTypeError, allGgmlTypes, ggmlTypeInfo, isKnownGgmlType } from './ggml-type.js';
export type { GgmlTypeId, GgmlTypeInfo, GgmlTypeName } from './ggml-type.js';
export type { BlockFormat } from './block-format.js';
export type { IWeightTensor } from './weight-tensor.js';
export { QuantizationError, SmallMindError, UnsupportedGgmlTypeError, WeightTensorError } from './errors.js';
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
export { F32Tensor, f32Format } from './formats/f32.js';
export { F16Tensor, f16Format } from './formats/f16.js';
export { BF16Tensor, bf16Format } from './formats/bf16.js';
export { Q4_0Tensor, q4_0Format } from './formats/q4_0.js';
export { Q4_1Tensor, q4_1Format } from './formats/q4_1.js';
export { Q5_0Tensor, q5_0Format } from './formats/q5_0.js';
export { Q5_1Tensor, q5_1Format } from './formats/q5_1.js';
export { Q8_0Tensor, q8_0Format } from './formats/q8_0.js';
export { q8_1Format } from './formats/q8_1.js';
export { Q2_KTensor, q2_kFormat } from './formats/q2_k.js';
export { Q3_KTensor, q3_kFormat } from './formats/q3_k.js';
export { Q4_KTensor, q4_kFormat } from './formats/q4_k.js';
export { Q5_KTensor, q5_kFormat } from './formats/q5_k.js';
export { Q6_KTensor, q6_kFormat } from './formats/q6_k.js';
export { q8_kFormat } from './formats/q8_k.js';
export { IQ3_XXSTensor, iq3_xxsFormat } from './formats/iq3_xxs.js';
export { IQ4_NLTensor, iq4_nlFormat } from './formats/iq4_nl.js';
export { IQ3_STensor, iq3_sFormat } from './formats/iq3_s.js';
export { IQ4_XSTensor, iq4_xsFormat } from './formats/iq4_xs.js';
