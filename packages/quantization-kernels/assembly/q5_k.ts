// Q5_K, 176 bytes per 256 weights: d:fp16 | dmin:fp16 | scales[12] | qh[32] | qs[128]. As Q4_K,
// plus a 5th bit: bit s of qh[l] for element l of sub-block s; x = d*sc*q - dmin*m. Activations: Q8_K.
import { byteBitToBytes, highNibbles, lowNibbles } from './common';

export const Q5_K_BLOCK_BYTES: usize = 176;

@inline export function q5_kGroup(b: usize, g: i32): v128 {
  const s = g >> 1;
  const half = <usize>(g & 1) << 4;
  const q = v128.load(b + 48 + (<usize>(s >> 1) << 5) + half);
  const high = byteBitToBytes(v128.load(b + 16 + half), s, 16);
  return v128.or((s & 1) == 0 ? lowNibbles(q) : highNibbles(q), high);
}

// Same header as Q4_K (d, dmin, 12 scale bytes at offset 4).
export { q4_kD as q5_kD, q4_kDmin as q5_kDmin, q4_kMin as q5_kMin, q4_kScale as q5_kScale } from './q4_k';
