/**
 * Test support: locating and reading the llama.cpp reference fixtures (`NAME.gguf` + `NAME.ref.json`,
 * described in fixtures/README.md and ../shared/fixtures/README.md §5). Tensor bytes are read at
 * the absolute file offsets the ref.json lists, so no GGUF parser is needed here.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgmlType, type GgmlTypeId, type GgmlTypeName } from '../ggml-type.js';

/** The repository's vendored subset (present in every clone). */
export const vendoredFixturesDir = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
/** The full workplace set next to the repository (`../shared/fixtures`), when it exists. */
export const sharedFixturesDir = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

export interface RefTensor {
  readonly name: string;
  /** ggml type name in llama.cpp's spelling (`f32`, `q4_0`, `q4_K`, `iq4_nl`). */
  readonly type: string;
  readonly ne: readonly number[];
  /** Absolute byte offset of the tensor data in the GGUF file. */
  readonly offset: number;
  readonly nbytes: number;
  readonly sha256: string;
  readonly sum: number;
  readonly sumsq: number;
  readonly maxabs: number;
  readonly first8: readonly number[];
  readonly last4: readonly number[];
}

export interface RefFixture {
  /** Path relative to the fixtures root, e.g. `stories260K/stories260K-Q4_0`. */
  readonly id: string;
  readonly refPath: string;
  /** The GGUF next to the ref.json, or undefined when only the JSON is vendored. */
  readonly ggufPath: string | undefined;
}

/** Every `*.ref.json` under `root` (one level of family folders), sorted. */
export function listRefFixtures(root: string): RefFixture[] {
  if (!existsSync(root)) return [];
  const fixtures: RefFixture[] = [];
  for (const family of readdirSync(root).sort()) {
    const dir = join(root, family);
    if (!statSync(dir).isDirectory()) continue;
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.ref.json')) continue;
      const stem = file.slice(0, -'.ref.json'.length);
      const ggufPath = join(dir, `${stem}.gguf`);
      fixtures.push({ id: `${family}/${stem}`, refPath: join(dir, file), ggufPath: existsSync(ggufPath) ? ggufPath : undefined });
    }
  }
  return fixtures;
}

/** A quantized fixture and the `<model>-F32` fixture holding the same model's original weights. */
export interface QuantizerFixturePair {
  readonly source: RefFixture;
  readonly target: RefFixture;
}

/**
 * Pairs each `<model>-F32` fixture of `root` (with its GGUF) with every other ref.json of the same model:
 * llama-quantize made the target's bytes from the source's F32 tensors.
 */
export function quantizerFixturePairs(root: string): QuantizerFixturePair[] {
  const fixtures = listRefFixtures(root);
  const pairs: QuantizerFixturePair[] = [];
  for (const source of fixtures) {
    if (!source.id.endsWith('-F32') || source.ggufPath === undefined) continue;
    const model = source.id.slice(0, -'F32'.length);
    for (const target of fixtures) {
      if (target !== source && target.id.startsWith(model)) pairs.push({ source, target });
    }
  }
  return pairs;
}

export function readRefTensors(refPath: string): RefTensor[] {
  return (JSON.parse(readFileSync(refPath, 'utf8')) as { tensors: RefTensor[] }).tensors;
}

/** ggml type id of a ref.json type name (`q4_K` -> GgmlType.Q4_K). */
export function typeIdOfRefName(refType: string): GgmlTypeId {
  const id = GgmlType[refType.toUpperCase() as GgmlTypeName] as GgmlTypeId | undefined;
  if (id === undefined) throw new Error(`ref.json names an unknown ggml type ${refType}`);
  return id;
}

/** The tensor's raw bytes inside the whole GGUF file (a view). */
export function tensorBytes(gguf: Uint8Array, tensor: RefTensor): Uint8Array {
  return gguf.subarray(tensor.offset, tensor.offset + tensor.nbytes);
}

/** An F32 tensor's values, copied into an aligned Float32Array. */
export function f32Values(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.slice().buffer);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function elementCount(tensor: RefTensor): number {
  return tensor.ne.reduce((product, size) => product * size, 1);
}

/** The statistics ref.json stores per tensor, computed our way (sums in float64, in order). */
export function tensorStats(values: Float32Array): { sum: number; sumsq: number; maxabs: number; first8: number[]; last4: number[] } {
  let sum = 0;
  let sumsq = 0;
  let maxabs = 0;
  for (const v of values) {
    sum += v;
    sumsq += v * v;
    const a = Math.abs(v);
    if (a > maxabs) maxabs = a;
  }
  return { sum, sumsq, maxabs, first8: Array.from(values.subarray(0, 8)), last4: Array.from(values.subarray(values.length - 4)) };
}
