/** Test support: deep comparison of two metadata maps (types, element types, values, key order). */
import type { MetadataArray, MetadataScalar, ModelMetadata } from '@smallmind/io-smq';

function valueEquals(x: MetadataScalar | MetadataArray, y: MetadataScalar | MetadataArray): boolean {
  if (typeof x !== 'object' || typeof y !== 'object') return typeof x === typeof y && (Object.is(x, y) || x === y);
  return x.elementType === y.elementType && x.values.length === y.values.length && x.values.every((v, i) => valueEquals(v, y.values[i]!));
}

/** Differences between two metadata maps; empty when equal. */
export function diffMetadata(a: ModelMetadata, b: ModelMetadata): string[] {
  const diffs: string[] = [];
  if (a.keys().join('\n') !== b.keys().join('\n')) diffs.push('metadata keys/order differ');
  for (const key of a.keys()) {
    const x = a.get(key)!;
    const y = b.get(key);
    if (y === undefined || x.type !== y.type || !valueEquals(x.value, y.value)) diffs.push(`${key} differs`);
  }
  return diffs;
}
