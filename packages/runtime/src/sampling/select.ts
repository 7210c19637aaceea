/**
 * Partial selection for the sampler: the k best candidates in O(n log k) with a bounded min-heap,
 * instead of sorting the whole vocabulary every token. "Better" is a higher value, and on equal values
 * the lower id, so a seed always reproduces the same order.
 */

/** Whether candidate `a` ranks strictly before `b`. */
function better(values: Float32Array, a: number, b: number): boolean {
  const va = values[a]!;
  const vb = values[b]!;
  return va > vb || (va === vb && a < b);
}

/**
 * Writes into `out[0..k)` the ids of the k best of the candidates, best first. The candidates are
 * `ids[0..count)`, or every id `0..count-1` when `ids` is undefined. `out` must not be `ids`.
 * Returns k (clamped to `count`).
 */
export function selectTop(values: Float32Array, ids: Int32Array | undefined, count: number, k: number, out: Int32Array): number {
  k = Math.min(k, count);
  if (k <= 0) return 0;
  // out[0..size) is a heap whose root is the worst kept candidate.
  let size = 0;
  for (let i = 0; i < count; i++) {
    const id = ids === undefined ? i : ids[i]!;
    if (size < k) {
      let child = size++;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if (!better(values, out[parent]!, id)) break;
        out[child] = out[parent]!;
        child = parent;
      }
      out[child] = id;
    } else if (better(values, id, out[0]!)) {
      siftDown(values, out, 0, size, id);
    }
  }
  // Heap sort: pop the worst to the end until the best is first.
  for (let end = size - 1; end > 0; end--) {
    const worst = out[0]!;
    siftDown(values, out, 0, end, out[end]!);
    out[end] = worst;
  }
  return size;
}

function siftDown(values: Float32Array, heap: Int32Array, start: number, size: number, id: number): void {
  let node = start;
  for (;;) {
    let child = 2 * node + 1;
    if (child >= size) break;
    if (child + 1 < size && better(values, heap[child]!, heap[child + 1]!)) child++;
    if (!better(values, id, heap[child]!)) break;
    heap[node] = heap[child]!;
    node = child;
  }
  heap[node] = id;
}

/** Sorts `ids[0..count)` best first (same order as `selectTop`). */
export function sortCandidates(values: Float32Array, ids: Int32Array, count: number): void {
  ids.subarray(0, count).sort((a, b) => values[b]! - values[a]! || a - b);
}

const NUCLEUS_BUCKETS = 1024;

/**
 * Top-p over every id 0..n-1 without sorting the vocabulary: a histogram of probability mass over
 * logit buckets finds the bucket where the cumulative mass (from the top) reaches p; only the ids in that
 * bucket and above are collected and sorted, then cut at the exact crossing. Writes the kept ids, best
 * first, into `out` and returns their count (n when the mass never reaches p, e.g. all logits -Infinity).
 * `scratch` must hold n numbers.
 */
export function selectNucleus(values: Float32Array, p: number, out: Int32Array, scratch: Float64Array): number {
  const n = values.length;
  let max = -Infinity;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v > max) max = v;
    if (v < min && v !== -Infinity) min = v;
  }
  if (max === -Infinity) {
    for (let i = 0; i < n; i++) out[i] = i;
    return n;
  }
  const mass = new Float64Array(NUCLEUS_BUCKETS);
  const scale = max > min ? (NUCLEUS_BUCKETS - 1) / (max - min) : 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const w = Math.exp(v - max);
    scratch[i] = w;
    total += w;
    if (w > 0) mass[Math.floor((v - min) * scale)]! += w;
  }
  let bucket = NUCLEUS_BUCKETS - 1;
  for (let cumulative = 0; bucket > 0; bucket--) {
    cumulative += mass[bucket]!;
    if (cumulative >= p * total) break;
  }
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (scratch[i]! > 0 && Math.floor((values[i]! - min) * scale) >= bucket) out[count++] = i;
  }
  sortCandidates(values, out, count);
  let cumulative = 0;
  for (let i = 0; i < count; i++) {
    cumulative += scratch[out[i]!]! / total;
    if (cumulative >= p) return i + 1;
  }
  // Rounding left the collected mass a hair short of p: everything above the lowest bucket is kept.
  if (bucket === 0) return count;
  for (let i = 0; i < n; i++) out[i] = i;
  sortCandidates(values, out, n);
  return n;
}
