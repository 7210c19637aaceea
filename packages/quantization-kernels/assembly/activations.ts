// Activation quantizers: each matVec/matMul first rounds its f32 activation rows to the weight
// format's vec_dot type exactly as llama.cpp does (ggml's quantize_row_q8_0/q8_1/q8_K reference
// versions, fp16/bf16 rounding), so the integer dot products see the same quantized values.
//
// Our in-memory activation rows are not ggml blocks: quants are stored widened to i16 (so the
// kernels need no activation widening) and per-block scales as f32, in separate arrays:
//   Q8_0 row: i16 q[cols] | f32 d[cols/32] | i8 q[cols] | i32 sum[cols/32]
//   Q8_1 row: i16 q[cols] | f32 d[cols/32] | f32 s[cols/32] | i8 q[cols]   (s = fp16(d * sum q), as ggml)
//   Q8_K row: i16 q[cols] | f32 d[cols/256] | i16 bsum[cols/16] | i8 q[cols]   (|bsum| <= 16 * 127)
// The i8 copy and the Q8_0 sums serve the relaxed-SIMD kernels (i8 x unsigned 7-bit dot products,
// with weight offsets such as Q4_0's 8 subtracted through the sums).
//   F16/BF16/F32 row: f32 x[cols] (already rounded to the weight's float type)
import { f16, f32ToF16 } from './common';

/** C roundf (half away from zero; ggml's reference quantizers use it) of four lanes: trunc, then +-1 where |v - trunc| >= 0.5. */
@inline function roundAwayX4(v: v128): v128 {
  const t = f32x4.trunc(v);
  const one = v128.or(v128.and(v, i32x4.splat(0x80000000)), f32x4.splat(1));
  return v128.bitselect(f32x4.add(t, one), t, f32x4.ge(f32x4.abs(f32x4.sub(v, t)), f32x4.splat(0.5)));
}

/**
 * Q8_0/Q8_1 rows, eight f32x4 per block: the same operations as ggml's reference quantizer per
 * value (amax, d = amax / 127, roundf(x * (1 / d))), so the quants and scales are bit-identical to
 * the scalar version (tested against @smallmind/quantization-tensors).
 */
function quantizeQ8Row(x: usize, out: usize, cols: i32, withSums: bool): void {
  const nb = cols >> 5;
  const dOut = out + (<usize>cols << 1);
  const sOut = dOut + (<usize>nb << 2);
  const q8Out = withSums ? sOut + (<usize>nb << 2) : sOut;
  const sumOut = q8Out + <usize>cols;
  for (let b = 0; b < nb; b++) {
    const xb = x + (<usize>b << 7);
    let m = f32x4.abs(v128.load(xb));
    for (let j = 1; j < 8; j++) m = f32x4.max(m, f32x4.abs(v128.load(xb + (<usize>j << 4))));
    const amax = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
    const d: f32 = amax / 127;
    const id = f32x4.splat(d != 0 ? <f32>1 / d : 0);
    const qb = out + (<usize>b << 6);
    const q8 = q8Out + (<usize>b << 5);
    let sums = i32x4.splat(0);
    for (let j = 0; j < 2; j++) {
      const o = xb + (<usize>j << 6);
      const q0 = i32x4.trunc_sat_f32x4_s(roundAwayX4(f32x4.mul(v128.load(o), id)));
      const q1 = i32x4.trunc_sat_f32x4_s(roundAwayX4(f32x4.mul(v128.load(o, 16), id)));
      const q2 = i32x4.trunc_sat_f32x4_s(roundAwayX4(f32x4.mul(v128.load(o, 32), id)));
      const q3 = i32x4.trunc_sat_f32x4_s(roundAwayX4(f32x4.mul(v128.load(o, 48), id)));
      sums = i32x4.add(sums, i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)));
      const lo = i16x8.narrow_i32x4_s(q0, q1);
      const hi = i16x8.narrow_i32x4_s(q2, q3);
      v128.store(qb + (<usize>j << 5), lo);
      v128.store(qb + (<usize>j << 5), hi, 16);
      v128.store(q8 + (<usize>j << 4), i8x16.narrow_i16x8_s(lo, hi));
    }
    const sum = i32x4.extract_lane(sums, 0) + i32x4.extract_lane(sums, 1) + i32x4.extract_lane(sums, 2) + i32x4.extract_lane(sums, 3);
    store<f32>(dOut + (<usize>b << 2), f16(f32ToF16(d)));
    if (withSums) store<f32>(sOut + (<usize>b << 2), f16(f32ToF16(<f32>sum * d)));
    else store<i32>(sumOut + (<usize>b << 2), sum);
  }
}

function quantizeQ8KRow(x: usize, out: usize, cols: i32): void {
  const nb = cols >> 8;
  const dOut = out + (<usize>cols << 1);
  const sumOut = dOut + (<usize>nb << 2);
  const q8Out = sumOut + (<usize>(cols >> 4) << 1);
  for (let b = 0; b < nb; b++) {
    const xb = x + (<usize>b << 10);
    const qb = out + (<usize>b << 9);
    let amax: f32 = 0;
    let max: f32 = 0;
    for (let j = 0; j < 256; j++) {
      const v = load<f32>(xb + (<usize>j << 2));
      if (Mathf.abs(v) > amax) {
        amax = Mathf.abs(v);
        max = v;
      }
    }
    if (amax == 0) {
      store<f32>(dOut + (<usize>b << 2), 0);
      memory.fill(qb, 0, 512);
      memory.fill(q8Out + (<usize>b << 8), 0, 256);
      memory.fill(sumOut + (<usize>b << 5), 0, 32);
      continue;
    }
    const iscale: f32 = <f32>-127 / max;
    for (let g = 0; g < 16; g++) {
      let sum: i32 = 0;
      for (let j = 0; j < 16; j++) {
        const k = (g << 4) + j;
        // ggml's nearest_int rounds half to even, which is what f32.nearest does.
        const q = min(127, <i32>nearest<f32>(iscale * load<f32>(xb + (<usize>k << 2))));
        store<i16>(qb + (<usize>k << 1), <i16>q);
        store<i8>(q8Out + (<usize>b << 8) + <usize>k, <i8>q);
        sum += q;
      }
      store<i16>(sumOut + (<usize>((b << 4) + g) << 1), <i16>sum);
    }
    store<f32>(dOut + (<usize>b << 2), <f32>1 / iscale);
  }
}

function roundFloatRow(x: usize, out: usize, cols: i32, kind: i32): void {
  for (let j = 0; j < cols; j++) {
    const v = load<f32>(x + (<usize>j << 2));
    let r: f32 = v;
    if (kind == 1) {
      r = f16(f32ToF16(v));
    } else if (kind == 30) {
      // ggml_compute_fp32_to_bf16: NaN keeps a quiet payload, everything else rounds to nearest even.
      const u = reinterpret<u32>(v);
      const h = (u & 0x7fffffff) > 0x7f800000 ? ((u >> 16) | 64) : ((u + (0x7fff + ((u >> 16) & 1))) >> 16);
      r = reinterpret<f32>(h << 16);
    }
    store<f32>(out + (<usize>j << 2), r);
  }
}

/**
 * Quantize `n` activation rows of `cols` floats (row stride `xStride` bytes) to activation kind
 * `kind` (0 = F32, 1 = F16, 30 = BF16, 8 = Q8_0, 9 = Q8_1, 15 = Q8_K: ggml type ids), rows written
 * `outStride` bytes apart.
 */
export function quantize_activations(kind: i32, x: usize, xStride: usize, out: usize, outStride: usize, cols: i32, n: i32): void {
  for (let i = 0; i < n; i++) {
    const xr = x + <usize>i * xStride;
    const o = out + <usize>i * outStride;
    if (kind == 8) quantizeQ8Row(xr, o, cols, false);
    else if (kind == 9) quantizeQ8Row(xr, o, cols, true);
    else if (kind == 15) quantizeQ8KRow(xr, o, cols);
    else roundFloatRow(xr, o, cols, kind);
  }
}
