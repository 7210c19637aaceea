import type { BlockFormat } from '../block-format.js';
import { BlockWeightTensor } from '../block-weight-tensor.js';
import { GgmlType, ggmlTypeInfo } from '../ggml-type.js';
import { readFp16, writeFp16 } from '../half.js';
import { KVALUES_IQ4NL } from './iq-grids.js';
import { nearestInt } from './k-quant-shared.js';
import { int8View, signedAbsMax } from './legacy-block-math.js';
import { q8_0Format } from './q8_0.js';

// Local, not imported: V8 only inlines Math.fround through a module-local binding.
const fround = Math.fround;

/**
 * IQ4_NL: 32 weights per block, x = d * kvalues_iq4nl[q] (a fixed non-linear 16-level table).
 * 18 bytes per block:
 *
 *   offset 0  d       fp16 scale
 *   offset 2  qs[16]  4-bit table indices: weight j (j < 16) is the low nibble of qs[j],
 *                     weight j + 16 the high nibble
 */
const BLOCK_SIZE = 32;
const BLOCK_BYTES = 18;
const QS = 2;
// Q8_0 activation block: d (fp16) then 32 int8 quants.
const Q8_0_BLOCK_BYTES = 34;
const Q8_0_QS = 2;

/**
 * Dequantizes one 32-weight IQ4 group (IQ4_NL block body or IQ4_XS sub-block): 16 bytes of
 * nibbles at `qs` scaled by `scale`, each value (scale * level) rounded to float32.
 */
export function dequantizeIq4Group(src: Uint8Array, qs: number, scale: number, dst: Float32Array, dstOffset: number): void {
  for (let j = 0; j < 16; j++) {
    const byte = src[qs + j] as number;
    dst[dstOffset + j] = fround(scale * (KVALUES_IQ4NL[byte & 0xf] as number));
    dst[dstOffset + j + 16] = fround(scale * (KVALUES_IQ4NL[byte >> 4] as number));
  }
}

/** Integer dot of one 32-weight IQ4 group (nibbles at `qs` of `w`) with the 32 int8 at `q8[aqs]`. */
export function iq4GroupDot(w: Uint8Array, qs: number, q8: Int8Array, aqs: number): number {
  let sum = 0;
  for (let j = 0; j < 16; j++) {
    const byte = w[qs + j] as number;
    sum += (q8[aqs + j] as number) * (KVALUES_IQ4NL[byte & 0xf] as number);
    sum += (q8[aqs + j + 16] as number) * (KVALUES_IQ4NL[byte >> 4] as number);
  }
  return sum;
}

/**
 * ggml's `best_index_int8` as of the fixtures' llama.cpp (c392e509): index of the table value
 * nearest x by binary search, ties to the upper value, with the distances compared in float32.
 */
function nearestLevelIndex(x: number): number {
  const values = KVALUES_IQ4NL;
  if (x <= (values[0] as number)) return 0;
  if (x >= (values[15] as number)) return 15;
  let lo = 0;
  let hi = 15;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x < (values[mid] as number)) hi = mid;
    else lo = mid;
  }
  return fround(x - (values[hi - 1] as number)) < fround((values[hi] as number) - x) ? hi - 1 : hi;
}

// ggml's GROUP_MAX_EPS.
const GROUP_MAX_EPS = fround(1e-15);
// ggml's ntry for quantize_iq4_nl / quantize_iq4_xs: 15 trial scales around -127/max.
const NTRY = 7;
const iq4Levels = new Uint8Array(256);
const iq4Scales = new Float32Array(8);

/**
 * One IQ4_NL block (superBlockSize 32) or IQ4_XS block (256) as quantize_row_iq4_nl_impl with
 * ntry 7 and no importance weights (weights x^2), which is what llama-quantize writes for both
 * without an imatrix. Per 32-weight sub-block: levels from the table for d = max/127, then 15
 * trial scales (itry - 127)/max keeping the best weighted fit. IQ4_NL stores that scale as d;
 * IQ4_XS stores d = -max_scale/32 and 6-bit signed sub-block scales. Levels are recomputed from the
 * final scale. Writes the fp16 d at `dOffset`, the nibbles at `qsOffset`, and for IQ4_XS the
 * scales at `scalesOffset` (uint16 high bits, then 4 bytes of low nibbles).
 */
export function quantizeIq4Block(
  superBlockSize: 32 | 256,
  src: Float32Array,
  x: number,
  dst: Uint8Array,
  dOffset: number,
  scalesOffset: number,
  qsOffset: number,
): void {
  const levels = iq4Levels;
  const scales = iq4Scales;
  const subBlocks = superBlockSize / 32;
  let maxScale = 0;
  let amaxScale = 0;
  for (let ib = 0; ib < subBlocks; ib++) {
    const xb = x + 32 * ib;
    const max = signedAbsMax(src, xb, 32);
    if (Math.abs(max) < GROUP_MAX_EPS) {
      scales[ib] = 0;
      levels.fill(0, 32 * ib, 32 * ib + 32);
      continue;
    }
    let d = fround(-max / (KVALUES_IQ4NL[0] as number));
    let id = fround(1 / d);
    let sumqx = 0;
    let sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const v = src[xb + j] as number;
      const l = nearestLevelIndex(fround(id * v));
      levels[32 * ib + j] = l;
      const q = KVALUES_IQ4NL[l] as number;
      const w = fround(v * v);
      sumqx = fround(sumqx + fround(fround(w * q) * v));
      sumq2 = fround(sumq2 + fround(fround(w * q) * q));
    }
    d = sumq2 > 0 ? fround(sumqx / sumq2) : 0;
    let best = fround(d * sumqx);
    for (let itry = -NTRY; itry <= NTRY; itry++) {
      id = fround((itry + (KVALUES_IQ4NL[0] as number)) / max);
      sumqx = 0;
      sumq2 = 0;
      for (let j = 0; j < 32; j++) {
        const v = src[xb + j] as number;
        const q = KVALUES_IQ4NL[nearestLevelIndex(fround(id * v))] as number;
        const w = fround(v * v);
        sumqx = fround(sumqx + fround(fround(w * q) * v));
        sumq2 = fround(sumq2 + fround(fround(w * q) * q));
      }
      if (sumq2 > 0 && fround(sumqx * sumqx) > fround(best * sumq2)) {
        d = fround(sumqx / sumq2);
        best = fround(d * sumqx);
      }
    }
    scales[ib] = d;
    if (Math.abs(d) > amaxScale) {
      amaxScale = Math.abs(d);
      maxScale = d;
    }
  }
  if (subBlocks > 1) {
    dst[scalesOffset] = 0;
    dst[scalesOffset + 1] = 0;
    const d = fround(-maxScale / 32);
    writeFp16(dst, dOffset, d);
    const id = d !== 0 ? fround(1 / d) : 0;
    for (let ib = 0; ib < subBlocks; ib++) {
      const l = Math.max(-32, Math.min(31, nearestInt(fround(id * (scales[ib] as number)))));
      const dl = fround(d * l);
      const idl = dl !== 0 ? fround(1 / dl) : 0;
      for (let j = 0; j < 32; j++) levels[32 * ib + j] = nearestLevelIndex(fround(idl * (src[x + 32 * ib + j] as number)));
      const stored = l + 32;
      const low = scalesOffset + 2 + (ib >> 1);
      dst[low] = ib % 2 === 0 ? stored & 0xf : (dst[low] as number) | ((stored & 0xf) << 4);
      const high = scalesOffset + (ib >> 2);
      dst[high] = (dst[high] as number) | ((stored >> 4) << (2 * (ib % 4)));
    }
  } else {
    const scale = scales[0] as number;
    writeFp16(dst, dOffset, scale);
    const id = scale !== 0 ? fround(1 / scale) : 0;
    for (let j = 0; j < 32; j++) levels[j] = nearestLevelIndex(fround(id * (src[x + j] as number)));
  }
  for (let i = 0; i < subBlocks; i++) {
    for (let j = 0; j < 16; j++) dst[qsOffset + 16 * i + j] = (levels[32 * i + j] as number) | ((levels[32 * i + 16 + j] as number) << 4);
  }
}

function dequantizeIq4Nl(src: Uint8Array, srcOffset: number, dst: Float32Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / BLOCK_SIZE; block++) {
    const base = srcOffset + block * BLOCK_BYTES;
    dequantizeIq4Group(src, base + QS, readFp16(src, base), dst, dstOffset + block * BLOCK_SIZE);
  }
}

/**
 * ggml_vec_dot_iq4_nl_q8_0: per 32-weight block, the integer dot of table levels with the Q8_0
 * quants times d_x*d_y (float32). Blocks summed in float32 (the order of ggml's generic C path).
 */
function vecDotIq4Nl(count: number, w: Uint8Array, wOffset: number, a: Uint8Array, aOffset: number): number {
  const q8 = int8View(a);
  let sum = 0;
  for (let block = 0; block < count / BLOCK_SIZE; block++) {
    const base = wOffset + block * BLOCK_BYTES;
    const act = aOffset + block * Q8_0_BLOCK_BYTES;
    const d = fround(readFp16(a, act) * readFp16(w, base));
    sum = fround(sum + fround(d * iq4GroupDot(w, base + QS, q8, act + Q8_0_QS)));
  }
  return sum;
}

/** quantize_iq4_nl without an imatrix (see `quantizeIq4Block`), block by block. */
function quantizeIq4Nl(src: Float32Array, srcOffset: number, dst: Uint8Array, dstOffset: number, count: number): void {
  for (let block = 0; block < count / BLOCK_SIZE; block++) {
    const base = dstOffset + block * BLOCK_BYTES;
    quantizeIq4Block(32, src, srcOffset + block * BLOCK_SIZE, dst, base, -1, base + QS);
  }
}

export const iq4_nlFormat: BlockFormat = {
  info: ggmlTypeInfo(GgmlType.IQ4_NL),
  vecDotType: GgmlType.Q8_0,
  dequantize: dequantizeIq4Nl,
  quantize: quantizeIq4Nl,
  vecDot: vecDotIq4Nl,
};

/** A IQ4_NL weight matrix; matVec/matMul quantize activations to Q8_0 and use the integer dot. */
export class IQ4_NLTensor extends BlockWeightTensor {
  constructor(data: Uint8Array, rows: number, cols: number) {
    super(iq4_nlFormat, data, rows, cols, q8_0Format);
  }
}
