/**
 * Fuzzing support (not exported by the package): a seeded PRNG and mutations of GGUF bytes: bit flips,
 * byte and field overwrites with extreme values, length/count fields set to extremes, truncations,
 * insertions, deletions, garbage blocks and wholly random files.
 */

/** mulberry32: small, fast, good enough for picking mutations; fully determined by its seed. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** Seed for case `index` of campaign `seed`, so any single case can be replayed. */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const EXTREME_U64: readonly bigint[] = [0n, 1n, 2n, 3n, 4n, 5n, 31n, 32n, 63n, 64n, 255n, 256n, 0x7fffn, 0xffffn, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0x1_0000_0000n, 1n << 53n, (1n << 53n) + 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n, (1n << 64n) - 2n];
const EXTREME_U32: readonly number[] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 31, 32, 33, 63, 64, 255, 256, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0xffff_fffe];
const EXTREME_U8: readonly number[] = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff];

/**
 * Offsets in the first `limit` bytes that look like GGUF size fields: a u64 whose value is small and
 * non-zero (string lengths, array counts, dimensions). Overwriting these reaches deep parser paths.
 */
export function sizeFieldCandidates(bytes: Uint8Array, limit: number): number[] {
  const out: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = Math.min(limit, bytes.length) - 8;
  for (let i = 8; i <= end; i++) {
    const low = view.getUint32(i, true);
    const high = view.getUint32(i + 4, true);
    if (high === 0 && low > 0 && low < 1 << 20) out.push(i);
  }
  return out;
}

export interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Header region (where most mutations should land). */
  readonly headerLength: number;
  readonly sizeFields: readonly number[];
}

export interface Mutant {
  readonly bytes: Uint8Array;
  /** Human-readable list of what was done, for failure reports. */
  readonly steps: readonly string[];
}

function position(rng: Rng, seed: Seed, length: number): number {
  // Mostly inside the header, sometimes anywhere.
  const span = rng.next() < 0.85 ? Math.min(seed.headerLength, length) : length;
  return rng.int(Math.max(1, span));
}

/** Applies 1-4 random mutations to a copy of `seed`. */
export function mutate(seed: Seed, rng: Rng): Mutant {
  const steps: string[] = [];
  if (rng.next() < 0.02) {
    const n = rng.int(512);
    const bytes = rng.bytes(n);
    if (rng.next() < 0.5 && n >= 8) bytes.set([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]);
    return { bytes, steps: [`random ${n} bytes`] };
  }
  let bytes = seed.bytes.slice();
  const count = 1 + rng.int(4);
  for (let m = 0; m < count; m++) {
    const view = new DataView(bytes.buffer);
    const kind = rng.int(10);
    const at = position(rng, seed, bytes.length);
    switch (kind) {
      case 0: {
        const bit = rng.int(8);
        if (at < bytes.length) bytes[at]! ^= 1 << bit;
        steps.push(`flip bit ${bit} at ${at}`);
        break;
      }
      case 1: {
        const v = rng.next() < 0.5 ? rng.pick(EXTREME_U8) : rng.int(256);
        if (at < bytes.length) bytes[at] = v;
        steps.push(`byte ${at} = ${v}`);
        break;
      }
      case 2: {
        const v = rng.pick(EXTREME_U32);
        if (at + 4 <= bytes.length) view.setUint32(at, v, true);
        steps.push(`u32 at ${at} = ${v}`);
        break;
      }
      case 3:
      case 4: {
        // A length/count/dimension field set to an extreme.
        const field = seed.sizeFields.length > 0 ? rng.pick(seed.sizeFields) : at;
        const v = rng.next() < 0.7 ? rng.pick(EXTREME_U64) : BigInt(rng.int(bytes.length + 64));
        if (field + 8 <= bytes.length) view.setBigUint64(field, v, true);
        steps.push(`size field at ${field} = ${v}`);
        break;
      }
      case 5: {
        const length = rng.next() < 0.7 ? rng.int(Math.min(bytes.length, seed.headerLength + 64)) : rng.int(bytes.length);
        bytes = bytes.slice(0, length);
        steps.push(`truncate to ${length}`);
        break;
      }
      case 6: {
        const n = 1 + rng.int(16);
        const grown = new Uint8Array(bytes.length + n);
        grown.set(bytes.subarray(0, at));
        grown.set(rng.bytes(n), at);
        grown.set(bytes.subarray(at), at + n);
        bytes = grown;
        steps.push(`insert ${n} bytes at ${at}`);
        break;
      }
      case 7: {
        const n = 1 + rng.int(16);
        const cut = Math.min(n, bytes.length - at);
        const shrunk = new Uint8Array(bytes.length - cut);
        shrunk.set(bytes.subarray(0, at));
        shrunk.set(bytes.subarray(at + cut), at);
        bytes = shrunk;
        steps.push(`delete ${n} bytes at ${at}`);
        break;
      }
      case 8: {
        const n = 1 + rng.int(64);
        const garbage = rng.bytes(Math.min(n, Math.max(0, bytes.length - at)));
        bytes.set(garbage, at);
        steps.push(`garbage ${garbage.length} bytes at ${at}`);
        break;
      }
      default: {
        // Copy a chunk of the file over another place (duplicates keys, names, infos).
        const from = position(rng, seed, bytes.length);
        const n = Math.min(1 + rng.int(48), bytes.length - from, bytes.length - at);
        if (n > 0) bytes.copyWithin(at, from, from + n);
        steps.push(`copy ${n} bytes ${from} -> ${at}`);
      }
    }
  }
  return { bytes, steps };
}
