/**
 * An architecture's tensor table: one line per tensor (GGUF name, shape as a function of the config,
 * required or optional, matrix or vector). The same table drives the directory check at load time (missing,
 * unexpected and wrong-shape tensors, each error naming the tensor), the binding of file tensors to the
 * typed weights the family's forward pass reads, and the random test models.
 */
import type { IWeightTensor } from '@smallmind/quantization-tensors';
import { ModelLoadError } from '../errors.js';
import type { ModelConfig } from './config.js';

/** `matrix`: multiplied or indexed by row (`IWeightTensor`, kept quantized); `vector`: 1-D, held as floats. */
export type TensorKind = 'matrix' | 'vector';

/** A tensor's shape in ggml `ne` order ([cols, rows] for a matrix), from the config and the layer index. */
export type ShapeOf = (config: ModelConfig, layer: number) => readonly number[];

export interface TensorDef<K extends TensorKind = TensorKind, O extends boolean = boolean> {
  readonly kind: K;
  /** GGUF name; in a layer table the part after `blk.{i}.`. */
  readonly name: string;
  readonly shape: ShapeOf;
  readonly optional: O;
}

export const matrix = (name: string, shape: ShapeOf): TensorDef<'matrix', false> => ({ kind: 'matrix', name, shape, optional: false });
export const optionalMatrix = (name: string, shape: ShapeOf): TensorDef<'matrix', true> => ({ kind: 'matrix', name, shape, optional: true });
export const vector = (name: string, shape: ShapeOf): TensorDef<'vector', false> => ({ kind: 'vector', name, shape, optional: false });
export const optionalVector = (name: string, shape: ShapeOf): TensorDef<'vector', true> => ({ kind: 'vector', name, shape, optional: true });

export type TensorDefs = Readonly<Record<string, TensorDef>>;

/** Global tensors, and tensors every block `blk.{i}.` has. */
export interface TensorTable<G extends TensorDefs = TensorDefs, L extends TensorDefs = TensorDefs> {
  readonly global: G;
  readonly layer: L;
}

type BoundTensor<D> =
  D extends TensorDef<'matrix', false>
    ? IWeightTensor
    : D extends TensorDef<'matrix', true>
      ? IWeightTensor | undefined
      : D extends TensorDef<'vector', false>
        ? Float32Array
        : Float32Array | undefined;

export type BoundTensors<T extends TensorDefs> = { readonly [K in keyof T]: BoundTensor<T[K]> };

/** The weights a table binds to: its global tensors by field name, plus one record per block. */
export type Weights<G extends TensorDefs, L extends TensorDefs> = BoundTensors<G> & { readonly layers: ReadonlyArray<BoundTensors<L>> };

/** One concrete tensor the table expects for a config. */
export interface TensorSpec {
  readonly name: string;
  readonly kind: TensorKind;
  readonly shape: readonly number[];
  readonly optional: boolean;
}

export function layerTensorName(layer: number, name: string): string {
  return `blk.${layer}.${name}`;
}

/** Every tensor of the table for `config`, globals first, then block by block. */
export function tensorSpecs(table: TensorTable, config: ModelConfig): TensorSpec[] {
  const specs: TensorSpec[] = [];
  for (const def of Object.values(table.global)) specs.push({ name: def.name, kind: def.kind, shape: def.shape(config, -1), optional: def.optional });
  for (let layer = 0; layer < config.blockCount; layer++) {
    for (const def of Object.values(table.layer)) {
      specs.push({ name: layerTensorName(layer, def.name), kind: def.kind, shape: def.shape(config, layer), optional: def.optional });
    }
  }
  return specs;
}

/** A file's tensor as the directory check sees it. */
export interface TensorEntry {
  readonly name: string;
  readonly shape: readonly number[];
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Compares a file's tensor directory with what the architecture needs. Every problem is listed in the
 * message; the error's code and tensor name are the first problem's. `where` names the file.
 */
export function checkTensorDirectory(entries: readonly TensorEntry[], specs: readonly TensorSpec[], architecture: string, where?: string): void {
  const specByName = new Map(specs.map((s) => [s.name, s]));
  const present = new Set(entries.map((e) => e.name));
  const problems: Array<{ code: 'MISSING_TENSOR' | 'UNEXPECTED_TENSOR' | 'WRONG_SHAPE'; name: string; text: string }> = [];
  for (const spec of specs) {
    if (!spec.optional && !present.has(spec.name)) {
      problems.push({ code: 'MISSING_TENSOR', name: spec.name, text: `tensor "${spec.name}" is missing (expected shape ${shapeText(spec.shape)})` });
    }
  }
  for (const entry of entries) {
    const spec = specByName.get(entry.name);
    if (spec === undefined) {
      problems.push({ code: 'UNEXPECTED_TENSOR', name: entry.name, text: `tensor "${entry.name}" is not part of the ${architecture} graph` });
    } else if (entry.shape.length !== spec.shape.length || entry.shape.some((d, i) => d !== spec.shape[i])) {
      problems.push({ code: 'WRONG_SHAPE', name: entry.name, text: `tensor "${entry.name}" has shape ${shapeText(entry.shape)}, expected ${shapeText(spec.shape)}` });
    }
  }
  const first = problems[0];
  if (first !== undefined) {
    const more = problems.length > 1 ? ` (${problems.length} problems: ${problems.map((p) => p.text).join('; ')})` : '';
    const file = where === undefined ? '' : ` in ${where}`;
    throw new ModelLoadError(first.code, first.name, `${first.text}${file} (architecture ${architecture})${more}`);
  }
}

/** A tensor as the binder receives it: matrices as weight tensors, vectors as floats. */
export type BoundValue = IWeightTensor | Float32Array;

function bindDefs(defs: TensorDefs, name: (def: TensorDef) => string, lookup: (name: string) => BoundValue | undefined): Record<string, BoundValue | undefined> {
  const bound: Record<string, BoundValue | undefined> = {};
  for (const [field, def] of Object.entries(defs)) {
    const fullName = name(def);
    const value = lookup(fullName);
    if (value === undefined && !def.optional) throw new ModelLoadError('MISSING_TENSOR', fullName, `tensor "${fullName}" is missing`);
    if (value !== undefined && (def.kind === 'vector') !== value instanceof Float32Array) {
      throw new ModelLoadError('WRONG_SHAPE', fullName, `tensor "${fullName}" must be ${def.kind === 'vector' ? 'a 1-D vector' : 'a 2-D matrix'}`);
    }
    bound[field] = value;
  }
  return bound;
}

/** Binds tensors by name (after `checkTensorDirectory`) to the table's typed weights. */
export function bindWeights<G extends TensorDefs, L extends TensorDefs>(
  table: TensorTable<G, L>,
  config: ModelConfig,
  lookup: (name: string) => BoundValue | undefined,
): Weights<G, L> {
  const global = bindDefs(table.global, (def) => def.name, lookup);
  const layers = Array.from({ length: config.blockCount }, (_, layer) => bindDefs(table.layer, (def) => layerTensorName(layer, def.name), lookup));
  return { ...global, layers } as unknown as Weights<G, L>;
}
