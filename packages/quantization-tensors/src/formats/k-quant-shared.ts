/**
 * Arithmetic shared by the k-quant formats (Q2_K ... Q6_K, Q8_K): ggml's `nearest_int`, the
 * scale-search routines of ggml-quants.c (`make_qx_quants`, `make_q3_quants`, `make_qkx2_quants`),
 * the 6-bit scale/min packing of Q4_K/Q5_K, and readers for the Q8_K activation block.
 *
 * Byte identity with llama.cpp needs C's float32 semantics: every `float` operation rounds to
 * float32. `f` (Math.fround) is applied after each single operation on float32 operands; by the
 * double-rounding theorem (53 >= 2*24 + 2) that gives exactly the float32 result of +, -, *, /.
 * ggml builds these reference quantizers without FMA contraction (ggml-base has no -march flags),
 * so products and sums are rounded separately, as here.
 */
import { f32Bits, f32FromBits, readFp16, writeFp16 } from '../half.js';

/** Weights per k-quant super-block (ggml's QK_K). */
export const QK_K = 256;

/** Rounds a float64 result to float32, as C does for every `float` operation. */
export const f = Math.fround;

// ggml's GROUP_MAX_EPS (1e-15f): below this a group counts as all zeros.
const GROUP_MAX_EPS = f(1e-15);
const ONE_TENTH = f(0.1);

/**
 * ggml's `nearest_int`: adds 1.5 * 2^23 in float32 and reads the integer from the mantissa bits.
 * Round-half-to-even for |v| < 2^22; kept bit-exact outside that range too (ggml does not check it
 * in release builds), so even degenerate inputs quantize to the same bytes as llama.cpp.
 */
export function nearestInt(value: number): number {
  return (f32Bits(value + 12582912) & 0x007fffff) - 0x00400000;
}

function clamp(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}

/**
 * ggml's `make_qx_quants` for the case the reference quantizers use (rmse_type 1, no importance
 * weights: weight x^2): symmetric levels in [-nmax, nmax-1], stored in `levels` offset by +nmax.
 * Tries 18 scales around nmax/max and keeps the one maximising sum(w x l)^2 / sum(w l^2).
 * Returns the float32 scale.
 */
export function makeQxQuants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOffset: number,
  levels: Int8Array,
  levelsOffset: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i] as number;
    const ax = Math.abs(v);
    if (ax > amax) {
      amax = ax;
      max = v;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    levels.fill(0, levelsOffset, levelsOffset + n);
    return 0;
  }
  let iscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i] as number;
    const l = clamp(nearestInt(f(iscale * v)), -nmax, nmax - 1);
    levels[levelsOffset + i] = l + nmax;
    const w = f(v * v);
    sumlx = f(sumlx + f(f(w * v) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  let scale = suml2 !== 0 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(ONE_TENTH * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOffset + i] as number;
      const l = clamp(nearestInt(f(iscale * v)), -nmax, nmax - 1);
      const w = f(v * v);
      sumlx = f(sumlx + f(f(w * v) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      for (let i = 0; i < n; i++) {
        const v = x[xOffset + i] as number;
        levels[levelsOffset + i] = nmax + clamp(nearestInt(f(iscale * v)), -nmax, nmax - 1);
      }
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/**
 * ggml's `make_q3_quants` with do_rmse: symmetric levels in [-nmax, nmax-1] (stored +nmax), then up
 * to 5 coordinate-descent passes moving single levels while the weighted fit improves.
 * Returns the float32 scale.
 */
export function makeQ3Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOffset: number,
  levels: Int8Array,
  levelsOffset: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i] as number;
    const ax = Math.abs(v);
    if (ax > amax) {
      amax = ax;
      max = v;
    }
  }
  if (amax < GROUP_MAX_EPS) {
    levels.fill(0, levelsOffset, levelsOffset + n);
    return 0;
  }
  const iscale = f(-nmax / max);
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i] as number;
    const l = clamp(nearestInt(f(iscale * v)), -nmax, nmax - 1);
    levels[levelsOffset + i] = l;
    const w = f(v * v);
    sumlx = f(sumlx + f(f(w * v) * l));
    suml2 = f(suml2 + f(f(w * l) * l));
  }
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOffset + i] as number;
      const old = levels[levelsOffset + i] as number;
      const w = f(v * v);
      let slx = f(sumlx - f(f(w * v) * old));
      if (slx > 0) {
        let sl2 = f(suml2 - f(f(w * old) * old));
        const newL = clamp(nearestInt(f(f(v * sl2) / slx)), -nmax, nmax - 1);
        if (newL !== old) {
          slx = f(slx + f(f(w * v) * newL));
          sl2 = f(sl2 + f(f(w * newL) * newL));
          if (sl2 > 0 && f(f(slx * slx) * suml2) > f(f(sumlx * sumlx) * sl2)) {
            levels[levelsOffset + i] = newL;
            sumlx = slx;
            suml2 = sl2;
            changed++;
          }
        }
      }
    }
    if (changed === 0) break;
  }
  for (let i = 0; i < n; i++) levels[levelsOffset + i] = (levels[levelsOffset + i] as number) + nmax;
  return suml2 > 0 ? f(sumlx / suml2) : 0;
}

/** Scratch for `makeQkx2Quants` (one search at a time; JS is single-threaded per isolate). */
const qkx2Candidate = new Uint8Array(32);

/**
 * ggml's `make_qkx2_quants`: asymmetric levels in [0, nmax] with x ~ scale * l - theMin. Starts
 * from the min/max fit, then tries nstep+1 scales (rmin + rdelta*is + nmax)/(max - min), solving
 * weighted least squares for scale and min at each and keeping the lowest weighted error
 * (absolute error when `useMad`). Writes the levels, returns `[scale, theMin]` with theMin >= 0.
 */
export function makeQkx2Quants(
  n: number,
  nmax: number,
  x: Float32Array,
  xOffset: number,
  weights: Float32Array,
  levels: Uint8Array,
  levelsOffset: number,
  rmin: number,
  rdelta: number,
  nstep: number,
  useMad: boolean,
): [scale: number, theMin: number] {
  let min = x[xOffset] as number;
  let max = min;
  let sumW = weights[0] as number;
  let sumX = f(sumW * min);
  for (let i = 1; i < n; i++) {
    const v = x[xOffset + i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    const w = weights[i] as number;
    sumW = f(sumW + w);
    sumX = f(sumX + f(w * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    levels.fill(0, levelsOffset, levelsOffset + n);
    return [0, -min];
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i] as number;
    const l = clamp(nearestInt(f(iscale * f(v - min))), 0, nmax);
    levels[levelsOffset + i] = l;
    let diff = f(f(f(scale * l) + min) - v);
    diff = useMad ? Math.abs(diff) : f(diff * diff);
    bestError = f(bestError + f((weights[i] as number) * diff));
  }
  if (nstep < 1) return [scale, -min];
  const candidate = qkx2Candidate;
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOffset + i] as number;
      const l = clamp(nearestInt(f(iscale * f(v - min))), 0, nmax);
      candidate[i] = l;
      const w = weights[i] as number;
      sumL = f(sumL + f(w * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
      sumXL = f(sumXL + f(f(w * l) * v));
    }
    const det = f(f(sumW * sumL2) - f(sumL * sumL));
    if (det > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / det);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / det);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = f(f(f(thisScale * (candidate[i] as number)) + thisMin) - (x[xOffset + i] as number));
        diff = useMad ? Math.abs(diff) : f(diff * diff);
        curError = f(curError + f((weights[i] as number) * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) levels[levelsOffset + i] = candidate[i] as number;
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return [scale, -min];
}

/**
 * Q4_K/Q5_K 6-bit scale and min of sub-block `j` (0..7) from the 12 packed bytes at `offset`
 * (ggml's `get_scale_min_k4`). Returns `scale | min << 8` to avoid allocating a pair.
 */
export function scaleMinK4(bytes: Uint8Array, offset: number, j: number): number {
  if (j < 4) {
    return ((bytes[offset + j] as number) & 63) | (((bytes[offset + j + 4] as number) & 63) << 8);
  }
  const packed = bytes[offset + j + 4] as number;
  const scale = (packed & 0xf) | (((bytes[offset + j - 4] as number) >> 6) << 4);
  const min = (packed >> 4) | (((bytes[offset + j] as number) >> 6) << 4);
  return scale | (min << 8);
}

/** Inverse of `scaleMinK4` for all 8 sub-blocks: 6-bit `scales`/`mins` into 12 bytes at `offset`. */
export function packScaleMinK4(scales: Uint8Array, mins: Uint8Array, bytes: Uint8Array, offset: number): void {
  for (let j = 0; j < 8; j++) {
    const ls = scales[j] as number;
    const lm = mins[j] as number;
    if (j < 4) {
      bytes[offset + j] = ls;
      bytes[offset + j + 4] = lm;
    } else {
      bytes[offset + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      bytes[offset + j - 4] = (bytes[offset + j - 4] as number) | ((ls >> 4) << 6);
      bytes[offset + j] = (bytes[offset + j] as number) | ((lm >> 4) << 6);
    }
  }
}

const scaleLevelsScratch = new Uint8Array(8);
const minLevelsScratch = new Uint8Array(8);

/**
 * Quantizes the 8 sub-block scales and mins of a Q4_K/Q5_K super-block to 6 bits against their
 * maxima, as quantize_row_q4_K_ref / q5_K_ref do, writes the 12 packed bytes at `scalesOffset`
 * and returns the fp16-storable super-scales `[d, dmin]` (max/63).
 */
export function quantizeScaleMinK4(
  scales: Float32Array,
  mins: Float32Array,
  maxScale: number,
  maxMin: number,
  bytes: Uint8Array,
  scalesOffset: number,
): [d: number, dmin: number] {
  const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
  const ls = scaleLevelsScratch;
  const lm = minLevelsScratch;
  for (let j = 0; j < 8; j++) {
    // uint8_t truncation, then MIN(63, .), as the C code stores nearest_int into uint8_t first.
    ls[j] = Math.min(63, nearestInt(f(invScale * (scales[j] as number))) & 0xff);
    lm[j] = Math.min(63, nearestInt(f(invMin * (mins[j] as number))) & 0xff);
  }
  packScaleMinK4(ls, lm, bytes, scalesOffset);
  return [f(maxScale / 63), f(maxMin / 63)];
}

/** Float32 from 4 little-endian bytes at any (unaligned) offset: Q8_K stores its scale as f32. */
export function readF32LE(bytes: Uint8Array, offset: number): number {
  return f32FromBits(
    (bytes[offset] as number) |
      ((bytes[offset + 1] as number) << 8) |
      ((bytes[offset + 2] as number) << 16) |
      ((bytes[offset + 3] as number) << 24),
  );
}

/** Writes `value` rounded to float32 as 4 little-endian bytes at `offset`. */
export function writeF32LE(value: number, bytes: Uint8Array, offset: number): void {
  const bits = f32Bits(value);
  bytes[offset] = bits & 0xff;
  bytes[offset + 1] = (bits >>> 8) & 0xff;
  bytes[offset + 2] = (bits >>> 16) & 0xff;
  bytes[offset + 3] = bits >>> 24;
}

/** Little-endian int16 at any offset (Q8_K's bsums). */
export function readI16LE(bytes: Uint8Array, offset: number): number {
  return (((bytes[offset] as number) | ((bytes[offset + 1] as number) << 8)) << 16) >> 16;
}

/** Bytes as signed int8 (Q6_K scales, Q8_K/Q8_0 quants). */
export function asInt8(byte: number): number {
  return (byte << 24) >> 24;
}

// ---------------------------------------------------------------------------------------------
// Q8_K, the activation block of every k-quant dot product (layout in q8_k.ts).

export const Q8_K_BLOCK_BYTES = 292;
/** Byte offset of `qs[0]` (int8 quants) in a Q8_K block. */
export const Q8_K_QS_OFFSET = 4;
/** Byte offset of `bsums[0]` (int16 sums of 16 quants) in a Q8_K block. */
export const Q8_K_BSUMS_OFFSET = 260;

/** Scale `d` (float32) of the Q8_K block starting at byte `blockOffset`. */
export function q8KScale(bytes: Uint8Array, blockOffset: number): number {
  return readF32LE(bytes, blockOffset);
}

/** `bsums[group]` (sum of the 16 quants of that group) of the Q8_K block at `blockOffset`. */
export function q8KGroupSum(bytes: Uint8Array, blockOffset: number, group: number): number {
  return readI16LE(bytes, blockOffset + Q8_K_BSUMS_OFFSET + 2 * group);
}

// ---------------------------------------------------------------------------------------------
// Q4_K and Q5_K share their header: d (fp16) at 0, dmin (fp16) at 2, 12 bytes of 6-bit scales
// and mins at 4, and 8 sub-blocks of 32 weights.

const K4_D = 0;
const K4_DMIN = 2;
const K4_SCALES = 4;

const k4Weights = new Float32Array(32);
const k4Scales = new Float32Array(8);
const k4Mins = new Float32Array(8);

/**
 * The search half of quantize_row_q4_K_ref / q5_K_ref for the super-block at `x`: per 32-weight
 * sub-block, weights rms(x) + |x| and make_qkx2_quants (levels 0..nmax, trial scales from
 * rmin + 0.1*is, is = 0..nstep); then scales and mins quantized to 6 bits (bytes 4-15 of the
 * block at `base`) and d, dmin written as fp16 (bytes 0-3). `levels` receives the search levels.
 */
export function fitScaleMinK4(
  src: Float32Array,
  x: number,
  nmax: number,
  rmin: number,
  nstep: number,
  levels: Uint8Array,
  block: Uint8Array,
  base: number,
): void {
  let maxScale = 0;
  let maxMin = 0;
  for (let sub = 0; sub < 8; sub++) {
    const start = x + 32 * sub;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) {
      const v = src[start + l] as number;
      sumX2 = f(sumX2 + f(v * v));
    }
    const avX = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) k4Weights[l] = f(avX + Math.abs(src[start + l] as number));
    const [scale, min] = makeQkx2Quants(32, nmax, src, start, k4Weights, levels, 32 * sub, rmin, ONE_TENTH, nstep, false);
    k4Scales[sub] = scale;
    k4Mins[sub] = min;
    if (scale > maxScale) maxScale = scale;
    if (min > maxMin) maxMin = min;
  }
  const [d, dmin] = quantizeScaleMinK4(k4Scales, k4Mins, maxScale, maxMin, block, base + K4_SCALES);
  writeFp16(block, base + K4_D, d);
  writeFp16(block, base + K4_DMIN, dmin);
}

/**
 * The last step of quantize_row_q4_K_ref / q5_K_ref: levels (0..nmax) recomputed from the stored
 * fp16 d/dmin and 6-bit scales of the block at `base`. Sub-blocks whose scale rounded to 0 keep
 * the levels of the search.
 */
export function requantizeScaleMinK4(
  src: Float32Array,
  x: number,
  nmax: number,
  block: Uint8Array,
  base: number,
  levels: Uint8Array,
): void {
  const d = readFp16(block, base + K4_D);
  const dmin = readFp16(block, base + K4_DMIN);
  for (let sub = 0; sub < 8; sub++) {
    const packed = scaleMinK4(block, base + K4_SCALES, sub);
    const dl = f(d * (packed & 0xff));
    if (dl === 0) continue;
    const ml = f(dmin * (packed >> 8));
    for (let i = 32 * sub; i < 32 * sub + 32; i++) {
      const q = nearestInt(f(f((src[x + i] as number) + ml) / dl));
      levels[i] = q < 0 ? 0 : q > nmax ? nmax : q;
    }
  }
}

/**
 * Dequantizes Q4_K/Q5_K blocks: x = (d * scale) * q - (dmin * min), each product rounded to
 * float32 as dequantize_row_q4_K/q5_K do. `quant(base, i)` gives the level of weight i.
 */
export function dequantizeScaleMinK4(
  src: Uint8Array,
  srcOffset: number,
  blockBytes: number,
  dst: Float32Array,
  dstOffset: number,
  count: number,
  quant: (base: number, index: number) => number,
): void {
  for (let block = 0; block < count / QK_K; block++) {
    const base = srcOffset + block * blockBytes;
    const d = readFp16(src, base + K4_D);
    const dmin = readFp16(src, base + K4_DMIN);
    const out = dstOffset + block * QK_K;
    for (let sub = 0; sub < 8; sub++) {
      const packed = scaleMinK4(src, base + K4_SCALES, sub);
      const dl = f(d * (packed & 0xff));
      const ml = f(dmin * (packed >> 8));
      for (let i = 32 * sub; i < 32 * sub + 32; i++) dst[out + i] = f(f(dl * quant(base, i)) - ml);
    }
  }
}

/**
 * ggml_vec_dot_q4_K_q8_K / q5_K_q8_K: per block, isum = sum over sub-blocks of scale * (integer
 * dot of 32 levels with the int8 activations), mins = sum over the 16 bsums of bsum * min of its
 * sub-block; result d_x*d_y * isum - dmin_x*d_y * mins with the scale products in float32 as in
 * ggml; blocks are summed in float32 (ggml's SIMD paths differ only in float32 summation order).
 * `subDot(base, qs, sub)` is the integer dot of sub-block `sub` with activations at byte `qs`.
 */
export function vecDotScaleMinK4(
  count: number,
  w: Uint8Array,
  wOffset: number,
  blockBytes: number,
  a: Uint8Array,
  aOffset: number,
  subDot: (base: number, qs: number, sub: number) => number,
): number {
  let sum = 0;
  for (let block = 0; block < count / QK_K; block++) {
    const base = wOffset + block * blockBytes;
    const act = aOffset + block * Q8_K_BLOCK_BYTES;
    const qs = act + Q8_K_QS_OFFSET;
    let isum = 0;
    let mins = 0;
    for (let sub = 0; sub < 8; sub++) {
      const packed = scaleMinK4(w, base + K4_SCALES, sub);
      isum += (packed & 0xff) * subDot(base, qs, sub);
      mins += (packed >> 8) * (q8KGroupSum(a, act, 2 * sub) + q8KGroupSum(a, act, 2 * sub + 1));
    }
    const dy = q8KScale(a, act);
    const d = f(readFp16(w, base + K4_D) * dy);
    const dmin = f(readFp16(w, base + K4_DMIN) * dy);
    sum = f(sum + f(f(d * isum) - f(dmin * mins)));
  }
  return sum;
}
