/**
 * Arithmetic shared by the k-quant formats (Q2_K ... Q6_K, Q8_K): ggml's `nearest_int`, the
 * scale-search routines of ggml-quants.c (`make_qx_quants`, `make_q3_quants`, `make_qkx2_quants`),
 * 2-bit and 6-bit scale/min packing, readers for the Q8_K activation block, and the block loops
 * shared by Q3_K/Q6_K (signed sub-block scales) and Q4_K/Q5_K (6-bit scales and mins).
 *
 * Byte identity with llama.cpp needs C's float32 semantics: every `float` operation rounds to
 * float32. `fround` is applied after each single operation on float32 operands; by the
 * double-rounding theorem (53 >= 2*24 + 2) that gives exactly the float32 result of +, -, *, /, sqrt.
 * ggml builds these reference quantizers without FMA contraction (ggml-base has no -march flags),
 * so products and sums are rounded separately, as here.
 */
import type { BlockFormat } from '../block-format.js';
import { GgmlType, ggmlTypeInfo, type GgmlTypeId } from '../ggml-type.js';
import { f32Bits, f32FromBits, readFp16, writeFp16 } from '../half.js';
import { int8View, signedAbsMax } from './legacy-block-math.js';

/** Weights per k-quant super-block (ggml's QK_K). */
export const QK_K = 256;

// Module-local on purpose: V8 does not inline Math.fround through an imported binding (measured
// 5x slower loops), so every format file declares its own.
const fround = Math.fround;

// ggml's GROUP_MAX_EPS (1e-15f): below this a group counts as all zeros.
const GROUP_MAX_EPS = fround(1e-15);
const ONE_TENTH = fround(0.1);

/**
 * ggml's `nearest_int`: adds 1.5 * 2^23 in float32 and reads the integer from the mantissa bits.
 * For |v| <= 2^22 - 1 (ggml's asserted range) that is round-half-to-even, computed directly here;
 * outside it the bit trick is emulated exactly (ggml does not check the range in release builds),
 * so even degenerate inputs quantize to the same bytes as llama.cpp.
 */
export function nearestInt(value: number): number {
  if (Math.abs(value) <= 4194303) {
    const rounded = Math.round(value);
    // `| 0` turns Math.round's -0 into the integer 0.
    return (rounded - value === 0.5 && (rounded & 1) !== 0 ? rounded - 1 : rounded) | 0;
  }
  return (f32Bits(value + 12582912) & 0x007fffff) - 0x00400000;
}

function clamp(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}

/**
 * The inner loop of make_qx_quants / make_q3_quants: levels l = nearest_int(iscale * x) clamped to
 * [-nmax, nmax-1], weights w = x^2, and the float32 sums (in order) of w*x*l and w*l*l.
 */
function symmetricFitSums(n: number, nmax: number, x: Float32Array, xOffset: number, iscale: number): [sumlx: number, suml2: number] {
  let sumlx = 0;
  let suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i] as number;
    const l = clamp(nearestInt(fround(iscale * v)), -nmax, nmax - 1);
    const w = fround(v * v);
    sumlx = fround(sumlx + fround(fround(w * v) * l));
    suml2 = fround(suml2 + fround(fround(w * l) * l));
  }
  return [sumlx, suml2];
}

/** Stores the levels of `symmetricFitSums` (plus `bias`) into `levels`. */
function storeSymmetricLevels(
  n: number,
  nmax: number,
  x: Float32Array,
  xOffset: number,
  iscale: number,
  levels: Int8Array,
  levelsOffset: number,
  bias: number,
): void {
  for (let i = 0; i < n; i++) {
    levels[levelsOffset + i] = clamp(nearestInt(fround(iscale * (x[xOffset + i] as number))), -nmax, nmax - 1) + bias;
  }
}

/**
 * The signed value of largest magnitude of the group (`signedAbsMax`), or 0 with the group's levels
 * zeroed when that magnitude is below GROUP_MAX_EPS: such a group is stored as all zeros (scale 0).
 */
function groupMaxOrZeroLevels(n: number, x: Float32Array, xOffset: number, levels: Int8Array, levelsOffset: number): number {
  const max = signedAbsMax(x, xOffset, n);
  if (!(Math.abs(max) < GROUP_MAX_EPS)) return max; // not `>=`: a NaN max goes on, as in ggml
  levels.fill(0, levelsOffset, levelsOffset + n);
  return 0;
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
  const max = groupMaxOrZeroLevels(n, x, xOffset, levels, levelsOffset);
  if (max === 0) return 0;
  let iscale = fround(-nmax / max);
  storeSymmetricLevels(n, nmax, x, xOffset, iscale, levels, levelsOffset, nmax);
  let [sumlx, suml2] = symmetricFitSums(n, nmax, x, xOffset, iscale);
  let scale = suml2 !== 0 ? fround(sumlx / suml2) : 0;
  let best = fround(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fround(-fround(nmax + fround(ONE_TENTH * is)) / max);
    [sumlx, suml2] = symmetricFitSums(n, nmax, x, xOffset, iscale);
    if (suml2 > 0 && fround(sumlx * sumlx) > fround(best * suml2)) {
      storeSymmetricLevels(n, nmax, x, xOffset, iscale, levels, levelsOffset, nmax);
      scale = fround(sumlx / suml2);
      best = fround(scale * sumlx);
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
  const max = groupMaxOrZeroLevels(n, x, xOffset, levels, levelsOffset);
  if (max === 0) return 0;
  const iscale = fround(-nmax / max);
  storeSymmetricLevels(n, nmax, x, xOffset, iscale, levels, levelsOffset, 0);
  let [sumlx, suml2] = symmetricFitSums(n, nmax, x, xOffset, iscale);
  for (let itry = 0; itry < 5; itry++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOffset + i] as number;
      const old = levels[levelsOffset + i] as number;
      const w = fround(v * v);
      let slx = fround(sumlx - fround(fround(w * v) * old));
      if (slx > 0) {
        let sl2 = fround(suml2 - fround(fround(w * old) * old));
        const newL = clamp(nearestInt(fround(fround(v * sl2) / slx)), -nmax, nmax - 1);
        if (newL !== old) {
          slx = fround(slx + fround(fround(w * v) * newL));
          sl2 = fround(sl2 + fround(fround(w * newL) * newL));
          if (sl2 > 0 && fround(fround(slx * slx) * suml2) > fround(fround(sumlx * sumlx) * sl2)) {
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
  return suml2 > 0 ? fround(sumlx / suml2) : 0;
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
  let sumX = fround(sumW * min);
  for (let i = 1; i < n; i++) {
    const v = x[xOffset + i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    const w = weights[i] as number;
    sumW = fround(sumW + w);
    sumX = fround(sumX + fround(w * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    levels.fill(0, levelsOffset, levelsOffset + n);
    return [0, -min];
  }
  let iscale = fround(nmax / fround(max - min));
  let scale = fround(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xOffset + i] as number;
    const l = clamp(nearestInt(fround(iscale * fround(v - min))), 0, nmax);
    levels[levelsOffset + i] = l;
    let diff = fround(fround(fround(scale * l) + min) - v);
    diff = useMad ? Math.abs(diff) : fround(diff * diff);
    bestError = fround(bestError + fround((weights[i] as number) * diff));
  }
  if (nstep < 1) return [scale, -min];
  const candidate = qkx2Candidate;
  for (let is = 0; is <= nstep; is++) {
    iscale = fround(fround(fround(rmin + fround(rdelta * is)) + nmax) / fround(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xOffset + i] as number;
      const l = clamp(nearestInt(fround(iscale * fround(v - min))), 0, nmax);
      candidate[i] = l;
      const w = weights[i] as number;
      sumL = fround(sumL + fround(w * l));
      sumL2 = fround(sumL2 + fround(fround(w * l) * l));
      sumXL = fround(sumXL + fround(fround(w * l) * v));
    }
    const det = fround(fround(sumW * sumL2) - fround(sumL * sumL));
    if (det > 0) {
      let thisScale = fround(fround(fround(sumW * sumXL) - fround(sumX * sumL)) / det);
      let thisMin = fround(fround(fround(sumL2 * sumX) - fround(sumL * sumXL)) / det);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fround(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = fround(fround(fround(thisScale * (candidate[i] as number)) + thisMin) - (x[xOffset + i] as number));
        diff = useMad ? Math.abs(diff) : fround(diff * diff);
        curError = fround(curError + fround((weights[i] as number) * diff));
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
 * Packs 256 2-bit levels the Q2_K/Q3_K way: in each 128-weight half h, weight 128h + 32s + l
 * (l < 32) goes to bits 2s..2s+1 of byte 32h + l at `qsOffset`.
 */
export function pack2BitLevels(levels: Uint8Array | Int8Array, dst: Uint8Array, qsOffset: number): void {
  for (let half = 0; half < 2; half++) {
    for (let l = 0; l < 32; l++) {
      const j = 128 * half + l;
      dst[qsOffset + 32 * half + l] =
        (levels[j] as number) | ((levels[j + 32] as number) << 2) | ((levels[j + 64] as number) << 4) | ((levels[j + 96] as number) << 6);
    }
  }
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
function quantizeScalesAndMinsK4(
  scales: Float32Array,
  mins: Float32Array,
  maxScale: number,
  maxMin: number,
  bytes: Uint8Array,
  scalesOffset: number,
): [d: number, dmin: number] {
  const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
  const ls = scaleLevelsScratch;
  const lm = minLevelsScratch;
  for (let j = 0; j < 8; j++) {
    // uint8_t truncation, then MIN(63, .), as the C code stores nearest_int into uint8_t first.
    ls[j] = Math.min(63, nearestInt(fround(invScale * (scales[j] as number))) & 0xff);
    lm[j] = Math.min(63, nearestInt(fround(invMin * (mins[j] as number))) & 0xff);
  }
  packScaleMinK4(ls, lm, bytes, scalesOffset);
  return [fround(maxScale / 63), fround(maxMin / 63)];
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
// Q3_K and Q6_K: 16 sub-blocks of 16 weights, each with a signed integer scale, x = d * scale * q.

/** Where a Q3_K/Q6_K block keeps its fp16 `d`, its sub-block scales and its signed quants. */
export interface SignedSubBlockLayout {
  readonly blockBytes: number;
  /** Byte offset of the fp16 super-scale d within a block. */
  readonly d: number;
  /** Signed integer scale of sub-block `sub` (0..15) of the block at `base`. */
  scale(bytes: Uint8Array, base: number, sub: number): number;
  /** Writes the 16 signed quants of sub-block `sub` of the block at `base` into `out`. */
  quants(bytes: Uint8Array, base: number, sub: number, out: Int8Array): void;
}

const signedSubBlockQuants = new Int8Array(16);

/** dequantize_row_q3_K / q6_K: x = (d * scale) * q, each product rounded to float32. */
function dequantizeSignedSubBlocks(
  layout: SignedSubBlockLayout,
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  count: number,
): void {
  const quants = signedSubBlockQuants;
  for (let block = 0; block < count / QK_K; block++) {
    const base = srcOffset + block * layout.blockBytes;
    const d = readFp16(src, base + layout.d);
    for (let sub = 0; sub < 16; sub++) {
      const dl = fround(d * layout.scale(src, base, sub));
      layout.quants(src, base, sub, quants);
      const out = dstOffset + block * QK_K + 16 * sub;
      for (let l = 0; l < 16; l++) dst[out + l] = fround(dl * (quants[l] as number));
    }
  }
}

/**
 * ggml_vec_dot_q3_K_q8_K / q6_K_q8_K: integer dot per 16-weight sub-block times its signed scale,
 * summed per block as an integer, times d_x*d_y (float32); blocks summed in float32.
 */
function vecDotSignedSubBlocks(
  layout: SignedSubBlockLayout,
  count: number,
  w: Uint8Array,
  wOffset: number,
  a: Uint8Array,
  aOffset: number,
): number {
  const quants = signedSubBlockQuants;
  const q8 = int8View(a);
  let sum = 0;
  for (let block = 0; block < count / QK_K; block++) {
    const base = wOffset + block * layout.blockBytes;
    const act = aOffset + block * Q8_K_BLOCK_BYTES;
    let isum = 0;
    for (let sub = 0; sub < 16; sub++) {
      layout.quants(w, base, sub, quants);
      const qs = act + Q8_K_QS_OFFSET + 16 * sub;
      let subSum = 0;
      for (let l = 0; l < 16; l++) subSum += (q8[qs + l] as number) * (quants[l] as number);
      isum += layout.scale(w, base, sub) * subSum;
    }
    sum = fround(sum + fround(fround(readFp16(w, base + layout.d) * q8KScale(a, act)) * isum));
  }
  return sum;
}

/** Reference quantizer of a Q3_K/Q6_K-style format (each has its own scale search and packing). */
type QuantizeRow = NonNullable<BlockFormat['quantize']>;

/**
 * The `BlockFormat` of a Q3_K/Q6_K-style type: dequantize and vecDot are the shared block loops bound
 * to `layout`; activations are Q8_K. (Measured: as fast as per-format wrapper functions.)
 */
export function signedSubBlockFormat(type: GgmlTypeId, layout: SignedSubBlockLayout, quantize: QuantizeRow): BlockFormat {
  return {
    info: ggmlTypeInfo(type),
    vecDotType: GgmlType.Q8_K,
    dequantize: (src, srcOffset, dst, dstOffset, count) => dequantizeSignedSubBlocks(layout, src, srcOffset, dst, dstOffset, count),
    quantize,
    vecDot: (count, w, wOffset, a, aOffset) => vecDotSignedSubBlocks(layout, count, w, wOffset, a, aOffset),
  };
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
function fitScaleMinK4(
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
      sumX2 = fround(sumX2 + fround(v * v));
    }
    const avX = fround(Math.sqrt(fround(sumX2 / 32)));
    for (let l = 0; l < 32; l++) k4Weights[l] = fround(avX + Math.abs(src[start + l] as number));
    const [scale, min] = makeQkx2Quants(32, nmax, src, start, k4Weights, levels, 32 * sub, rmin, ONE_TENTH, nstep, false);
    k4Scales[sub] = scale;
    k4Mins[sub] = min;
    if (scale > maxScale) maxScale = scale;
    if (min > maxMin) maxMin = min;
  }
  const [d, dmin] = quantizeScalesAndMinsK4(k4Scales, k4Mins, maxScale, maxMin, block, base + K4_SCALES);
  writeFp16(block, base + K4_D, d);
  writeFp16(block, base + K4_DMIN, dmin);
}

/**
 * The last step of quantize_row_q4_K_ref / q5_K_ref: levels (0..nmax) recomputed from the stored
 * fp16 d/dmin and 6-bit scales of the block at `base`. Sub-blocks whose scale rounded to 0 keep
 * the levels of the search.
 */
function requantizeScaleMinK4(
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
    const dl = fround(d * (packed & 0xff));
    if (dl === 0) continue;
    const ml = fround(dmin * (packed >> 8));
    for (let i = 32 * sub; i < 32 * sub + 32; i++) {
      const q = nearestInt(fround(fround((src[x + i] as number) + ml) / dl));
      levels[i] = q < 0 ? 0 : q > nmax ? nmax : q;
    }
  }
}

/** Search parameters of one format's make_qkx2_quants calls (Q4_K: 15, -1, 20; Q5_K: 31, -0.5, 15). */
export interface ScaleMinK4Search {
  readonly nmax: number;
  readonly rmin: number;
  readonly nstep: number;
}

const k4Levels = new Uint8Array(QK_K);

/**
 * quantize_row_q4_K_ref / q5_K_ref: `fitScaleMinK4`, `requantizeScaleMinK4`, then the levels packed
 * as nibbles (and, for Q5_K, levels above 15 set their bit in qh).
 */
function quantizeScaleMinK4(
  layout: ScaleMinK4Layout,
  search: ScaleMinK4Search,
  src: Float32Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  count: number,
): void {
  const levels = k4Levels;
  const { nmax, rmin, nstep } = search;
  for (let block = 0; block < count / QK_K; block++) {
    const x = srcOffset + block * QK_K;
    const base = dstOffset + block * layout.blockBytes;
    fitScaleMinK4(src, x, nmax, rmin, nstep, levels, dst, base);
    requantizeScaleMinK4(src, x, nmax, dst, base, levels);
    if (layout.qh >= 0) dst.fill(0, base + layout.qh, base + layout.qh + 32);
    for (let group = 0; group < 4; group++) {
      for (let l = 0; l < 32; l++) {
        const low = levels[64 * group + l] as number;
        const high = levels[64 * group + 32 + l] as number;
        if (layout.qh >= 0) {
          dst[base + layout.qh + l] = (dst[base + layout.qh + l] as number) | ((low >> 4) << (2 * group)) | ((high >> 4) << (2 * group + 1));
        }
        dst[base + layout.qs + 32 * group + l] = (low & 0xf) | ((high & 0xf) << 4);
      }
    }
  }
}

/**
 * Where a Q4_K/Q5_K block keeps its quants: `qs` (128 bytes of nibbles; 64-weight group g uses
 * bytes 32g..32g+31, low nibbles first) and, for Q5_K, `qh` (32 bytes; weight 32k + l has its
 * 5th bit in bit k of qh[l]); `qh` < 0 for Q4_K.
 */
export interface ScaleMinK4Layout {
  readonly blockBytes: number;
  readonly qs: number;
  readonly qh: number;
}

/**
 * Dequantizes Q4_K/Q5_K blocks: x = (d * scale) * q - (dmin * min), each product rounded to
 * float32 as dequantize_row_q4_K/q5_K do.
 */
function dequantizeScaleMinK4(
  layout: ScaleMinK4Layout,
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  count: number,
): void {
  const { blockBytes, qh } = layout;
  for (let block = 0; block < count / QK_K; block++) {
    const base = srcOffset + block * blockBytes;
    const d = readFp16(src, base + K4_D);
    const dmin = readFp16(src, base + K4_DMIN);
    for (let sub = 0; sub < 8; sub++) {
      const packed = scaleMinK4(src, base + K4_SCALES, sub);
      const dl = fround(d * (packed & 0xff));
      const ml = fround(dmin * (packed >> 8));
      const qs = base + layout.qs + 32 * (sub >> 1);
      const shift = 4 * (sub & 1);
      const out = dstOffset + block * QK_K + 32 * sub;
      for (let l = 0; l < 32; l++) {
        let q = ((src[qs + l] as number) >> shift) & 0xf;
        if (qh >= 0) q |= (((src[base + qh + l] as number) >> sub) & 1) << 4;
        dst[out + l] = fround(fround(dl * q) - ml);
      }
    }
  }
}

/**
 * ggml_vec_dot_q4_K_q8_K / q5_K_q8_K: per block, isum = sum over sub-blocks of scale * (integer
 * dot of 32 levels with the int8 activations), mins = sum over the 16 bsums of bsum * min of its
 * sub-block; result d_x*d_y * isum - dmin_x*d_y * mins with the scale products in float32 as in
 * ggml; blocks are summed in float32 (ggml's SIMD paths differ only in float32 summation order).
 */
function vecDotScaleMinK4(
  layout: ScaleMinK4Layout,
  count: number,
  w: Uint8Array,
  wOffset: number,
  a: Uint8Array,
  aOffset: number,
): number {
  const { blockBytes, qh } = layout;
  let sum = 0;
  for (let block = 0; block < count / QK_K; block++) {
    const base = wOffset + block * blockBytes;
    const act = aOffset + block * Q8_K_BLOCK_BYTES;
    let isum = 0;
    let mins = 0;
    for (let sub = 0; sub < 8; sub++) {
      const packed = scaleMinK4(w, base + K4_SCALES, sub);
      const qs = base + layout.qs + 32 * (sub >> 1);
      const shift = 4 * (sub & 1);
      const q8 = act + Q8_K_QS_OFFSET + 32 * sub;
      let subSum = 0;
      for (let l = 0; l < 32; l++) {
        let q = ((w[qs + l] as number) >> shift) & 0xf;
        if (qh >= 0) q |= (((w[base + qh + l] as number) >> sub) & 1) << 4;
        subSum += q * (((a[q8 + l] as number) << 24) >> 24);
      }
      isum += (packed & 0xff) * subSum;
      mins += (packed >> 8) * (q8KGroupSum(a, act, 2 * sub) + q8KGroupSum(a, act, 2 * sub + 1));
    }
    const dy = q8KScale(a, act);
    const d = fround(readFp16(w, base + K4_D) * dy);
    const dmin = fround(readFp16(w, base + K4_DMIN) * dy);
    sum = fround(sum + fround(fround(d * isum) - fround(dmin * mins)));
  }
  return sum;
}

/**
 * The `BlockFormat` of Q4_K or Q5_K: all three functions are the shared ones bound to the format's
 * `layout` and `search` (dequantize_row_q4_K/q5_K, quantize_row_q4_K_ref/q5_K_ref,
 * ggml_vec_dot_q4_K_q8_K/q5_K_q8_K); activations are Q8_K.
 */
export function scaleMinK4Format(type: GgmlTypeId, layout: ScaleMinK4Layout, search: ScaleMinK4Search): BlockFormat {
  return {
    info: ggmlTypeInfo(type),
    vecDotType: GgmlType.Q8_K,
    dequantize: (src, srcOffset, dst, dstOffset, count) => dequantizeScaleMinK4(layout, src, srcOffset, dst, dstOffset, count),
    quantize: (src, srcOffset, dst, dstOffset, count) => quantizeScaleMinK4(layout, search, src, srcOffset, dst, dstOffset, count),
    vecDot: (count, w, wOffset, a, aOffset) => vecDotScaleMinK4(layout, count, w, wOffset, a, aOffset),
  };
}
