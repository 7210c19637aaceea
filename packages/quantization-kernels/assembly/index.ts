// Entry point of the kernel module. Every weight format exports two kernels with one signature,
//   mv_<fmt> / mm_<fmt>(w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch)
// computing rows [r0, r1) of Y = X * W^T: mv for one activation row (n, aStride, yStride and
// scratch unused), mm for n rows. `a` holds activations already quantized by
// quantize_activations (and, for mm with Q8_0/Q8_1 activations, pack_rows4); `scratch` is per-thread
// space for one decoded weight row.
// The module imports a shared memory; the host owns all allocation above heap_base().
import { BF16, F16, F32, IQ4_NL, IQ4_XS, Q2_K, Q3_K, Q4_0, Q4_1, Q4_K, Q5_0, Q5_1, Q5_K, Q6_K, Q8_0, mm256, mm32, mmF, mv256, mv32, mvF } from './drivers';

export { pack_rows4 } from './drivers';

import { F16_TABLE_END, f16x4 } from './common';

export { quantize_activations } from './activations';
export { fill_f16_table } from './common';
export { attend_f32 } from './attention';
export { swiglu_f32 } from './elementwise';

/** First byte the host may use (above the module's static data and the fp16 table). */
export function heap_base(): usize {
  return F16_TABLE_END;
}

/** 1 on the relaxed-SIMD build. */
export function relaxed_simd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

export function mv_f32(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mvF(F32, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_f32(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mmF(F32, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_f16(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mvF(F16, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_f16(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mmF(F16, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_bf16(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mvF(BF16, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_bf16(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mmF(BF16, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_q4_0(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv32(Q4_0, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_q4_0(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm32(Q4_0, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_q4_1(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv32(Q4_1, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_q4_1(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm32(Q4_1, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_q5_0(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv32(Q5_0, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_q5_0(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm32(Q5_0, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_q5_1(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv32(Q5_1, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_q5_1(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm32(Q5_1, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_q8_0(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv32(Q8_0, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_q8_0(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm32(Q8_0, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_iq4_nl(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv32(IQ4_NL, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_iq4_nl(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm32(IQ4_NL, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_q2_k(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv256(Q2_K, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_q2_k(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm256(Q2_K, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_q3_k(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv256(Q3_K, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_q3_k(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm256(Q3_K, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_q4_k(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv256(Q4_K, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_q4_k(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm256(Q4_K, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_q5_k(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv256(Q5_K, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_q5_k(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm256(Q5_K, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_q6_k(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv256(Q6_K, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_q6_k(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm256(Q6_K, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

export function mv_iq4_xs(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mv256(IQ4_XS, w, rowBytes, r0, r1, a, y, cols);
}

export function mm_iq4_xs(w: usize, rowBytes: usize, r0: i32, r1: i32, a: usize, aStride: usize, n: i32, y: usize, yStride: usize, cols: i32, scratch: usize): void {
  mm256(IQ4_XS, w, rowBytes, r0, r1, a, aStride, n, y, yStride, cols, scratch);
}

/** fp16 -> f32 for `n` values (a multiple of 8) with the kernels' vector conversion (tested exhaustively). */
export function convert_f16(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 8) {
    const h = v128.load(src + (<usize>i << 1));
    v128.store(dst + (<usize>i << 2), f16x4(h, false));
    v128.store(dst + (<usize>i << 2), f16x4(h, true), 16);
  }
}
