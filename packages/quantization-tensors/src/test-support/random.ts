/** Test support: a small seeded PRNG so every test run sees the same "random" data. */

/** mulberry32: uniform floats in [0, 1) from a 32-bit seed. */
export function uniformSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` normally distributed float32 values (Box-Muller) with the given standard deviation. */
export function gaussianValues(count: number, seed: number, std = 1): Float32Array {
  const uniform = uniformSource(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - uniform())) * std;
    const angle = 2 * Math.PI * uniform();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** `count` random bytes. */
export function randomBytes(count: number, seed: number): Uint8Array {
  const uniform = uniformSource(seed);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(uniform() * 256);
  return out;
}
